"""Everything the functions build from their settings, in one place: the AWS clients (once per
process: the handlers call these at module scope), the routes and router, the gateway's model
tasks, the guardrail, the pipeline and the judge."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from llm_gateway.contract import Route, Settings, parse_routes
from llm_gateway.core.aws import LazyClient, client
from llm_gateway.core.budgets import Budgets
from llm_gateway.core.cache import SemanticCache, VectorBucketIndex
from llm_gateway.core.guardrails import BedrockGuardrail, BuiltinGuardrail, Guardrail, LayeredGuardrail
from llm_gateway.core.judge import Judge
from llm_gateway.core.pipeline import Pipeline
from llm_gateway.core.providers import Providers
from llm_gateway.core.providers.local import LocalProvider
from llm_gateway.core.rag import DocumentStore
from llm_gateway.core.ratelimit import RateLimiter
from llm_gateway.core.records import EvalEvents, IncidentLog
from llm_gateway.core.routing import Router, RouteTable
from llm_gateway.core.tasks import ModelTasks
from llm_gateway.core.tenants import Quotas
from llm_gateway.core.usage import Prices, UsageLedger, UsageStore
from llm_gateway.core.vector_wire import fast_vectors


def default_routes(settings: Settings) -> dict[str, Route]:
    """The routes in code (``ROUTES_JSON``), plus the aliases a gateway always answers: chat and
    embeddings for clients, and its own tasks. The cache embeds with what ``/v1/embeddings`` uses
    unless ``embed`` says otherwise; judging and classification use the judge model."""
    routes = parse_routes(settings.routes_json)

    def bedrock(alias: str, model: str) -> Route:
        return Route.parse(alias, {"targets": [{"provider": "bedrock", "model": model}]})

    routes.setdefault(settings.default_model_alias, bedrock(settings.default_model_alias, settings.model_id))
    routes.setdefault(settings.default_embedding_alias,
                      bedrock(settings.default_embedding_alias, settings.embed_model_id))
    routes.setdefault(settings.embed_alias, replace(routes[settings.default_embedding_alias],
                                                    alias=settings.embed_alias))
    routes.setdefault(settings.judge_alias, bedrock(settings.judge_alias, settings.judge_model_id))
    return routes


def model_tasks(settings: Settings, ddb: Any) -> ModelTasks:
    """The router over every provider (the JSONL stand-in answering Bedrock targets when
    ``LLM_MODE=local``), and the gateway's own tasks on it."""
    local = LocalProvider(settings.answers_path, settings.local_embedder) if settings.llm_mode == "local" else None
    routes = RouteTable(default_routes(settings), settings.routes_table, ddb, ttl=settings.routes_cache_seconds)
    router = Router(routes, Providers(local=local), cooldown_seconds=settings.cooldown_seconds,
                    prices=Prices(settings.prices_json))
    return ModelTasks(router, embed_alias=settings.embed_alias, judge_alias=settings.judge_alias)


def guardrail(settings: Settings, tasks: ModelTasks) -> Guardrail:
    """The backend the settings name. The builtin engine's classifier model runs only where the
    stand-in answers it (locally): deployed, the rules and the Bedrock Guardrail decide."""
    builtin = BuiltinGuardrail(tasks if settings.llm_mode == "local" else None)
    if settings.guardrail_backend == "builtin":
        return builtin
    bedrock = BedrockGuardrail(settings.guardrail_id, settings.guardrail_version, LazyClient("bedrock-runtime"))
    return bedrock if settings.guardrail_backend == "bedrock" else LayeredGuardrail(builtin, bedrock)


def dynamodb() -> Any:
    """One client for every table: its pool fits the cache's concurrent lookup queries (17) beside
    the quota and record writes of the requests in flight."""
    return client("dynamodb", max_pool_connections=64)


def semantic_cache(settings: Settings, ddb: Any) -> SemanticCache:
    """The cache's table, and its S3 Vectors index where the stack gave it one."""
    vectors = (VectorBucketIndex(settings.cache_vector_bucket_arn, client("s3vectors"),
                                 batch=settings.cache_vector_batch, linger_seconds=settings.cache_vector_linger_seconds)
               if settings.cache_vector_bucket_arn else None)
    return SemanticCache(settings.cache_table, ddb, threshold=settings.cache_threshold,
                         ttl_seconds=settings.cache_ttl_seconds, vectors=vectors)


def build_pipeline(settings: Settings) -> Pipeline:
    ddb = dynamodb()
    tasks = model_tasks(settings, ddb)
    return Pipeline(
        tasks=tasks,
        guardrail=guardrail(settings, tasks),
        cache=semantic_cache(settings, ddb),
        incidents=IncidentLog(settings.incidents_table, ddb),
        events=EvalEvents(settings.event_bus_name, LazyClient("events"), keep_queue=settings.eval_keep_queue_url,
                          sqs=LazyClient("sqs") if settings.eval_keep_queue_url else None,
                          sample_rate=settings.sample_rate, loop=settings.eval_loop),
        # No table, no limits: leaving the RateLimiter construct out disables them.
        limiter=RateLimiter(settings.rate_limits_table, ddb, Quotas(
            rpm=settings.default_rpm, rpd=settings.default_rpd, tpm=settings.default_tpm),
            on_store_failure=settings.quota_store_failure, max_lease=settings.quota_max_lease)
        if settings.rate_limits_table else None,
        refusal=settings.refusal_message,
        cache_max_temperature=settings.cache_max_temperature,
        max_output_tokens=settings.max_output_tokens,
        # Budgets count spend beside the quotas, in the rate limiter's table.
        budgets=Budgets(settings.rate_limits_table, ddb) if settings.rate_limits_table else None,
        prices=tasks.router.prices,
    )


def document_store(settings: Settings) -> DocumentStore | None:
    """The RAG bucket (None: the stack has no RagStore)."""
    if not settings.rag_vector_bucket_arn:
        return None
    return DocumentStore(settings.rag_vector_bucket_arn, LazyClient("s3vectors", fast_vectors))


def usage_ledger(settings: Settings) -> UsageLedger | None:
    """Where each request's usage record goes (None: the stack has no UsageLedger)."""
    if not settings.usage_records:
        return None
    if settings.usage_records != "log":
        raise ValueError(f"USAGE_RECORDS={settings.usage_records!r}: records go to the log (\"log\") or nowhere")
    bodies = frozenset(t.strip() for t in settings.usage_bodies_tenants.split(",") if t.strip())
    return UsageLedger(bodies_for=bodies)


def usage_store(settings: Settings, ddb: Any = None) -> UsageStore | None:
    """The requests table: the usage function writes it, the billing endpoint reads its counters."""
    if not settings.usage_table:
        return None
    return UsageStore(settings.usage_table, ddb or LazyClient("dynamodb"), retention_days=settings.usage_retention_days)


def build_judge(settings: Settings) -> Judge:
    ddb = dynamodb()
    cache = semantic_cache(settings, ddb) if settings.cache_table else None
    return Judge(model_tasks(settings, ddb), settings.scores_table, ddb, cache=cache,
                 evict_below=settings.cache_evict_below)
