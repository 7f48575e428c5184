"""Seed 003's RAG doors over the pipeline: ``POST /v1/rag/ingest`` (documents embedded into an S3
Vectors index), ``POST /v1/rag/query`` (the question's nearest documents, then an answer from them:
a chat completion, buffered with ``rag_context`` or streamed as SSE) and ``POST /v1/rag/delete``.
A query is a chat question like any: guardrails, cache, quotas, budgets and usage apply."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from llm_gateway.api.answering import Answers, describe
from llm_gateway.api.context import Caller
from llm_gateway.api.errors import ApiError, read_json_object
from llm_gateway.api.schemas import RagDeleteRequest, RagIngestRequest, RagQueryRequest, check
from llm_gateway.api.wire import SSE_HEADERS, Chat
from llm_gateway.contract import Settings
from llm_gateway.core import rag
from llm_gateway.core.pipeline import Outcome, Query
from llm_gateway.core.rag import Document, DocumentStore


def _documents(raw: list[dict[str, Any]]) -> list[Document]:
    documents: dict[str, Document] = {}  # a key given twice: the last one, as an upsert would leave it
    for i, doc in enumerate(raw):
        metadata = dict(doc.get("metadata") or {})
        if reserved := rag.RESERVED & set(metadata):
            raise ApiError(400, f"metadata key {sorted(reserved)[0]!r} is reserved by the gateway",
                           param=f"documents[{i}].metadata", code="invalid_value")
        if len(json.dumps(metadata).encode()) > rag.MAX_FILTERABLE_BYTES:
            raise ApiError(400, f"metadata is limited to {rag.MAX_FILTERABLE_BYTES} bytes",
                           param=f"documents[{i}].metadata", code="invalid_value")
        text = doc["text"]
        if not text.strip():
            raise ApiError(400, "'text' must not be blank", param=f"documents[{i}].text", code="invalid_value")
        if len(text.encode()) > rag.MAX_TEXT_BYTES:
            raise ApiError(400, f"a document's text is limited to {rag.MAX_TEXT_BYTES} bytes: split it into "
                                "several documents", param=f"documents[{i}].text", code="invalid_value")
        documents[doc["key"]] = Document(doc["key"], text, metadata)
    return list(documents.values())


@dataclass
class Retrieved:
    """What a query's retrieval found, and what its embedding cost (nothing, until it runs)."""

    passages: list[rag.Passage] = field(default_factory=list)
    embedding_cost: float = 0.0


def _store_call(call: Any, *args: Any, param: str) -> Any:
    """A call to the document store, its refusals as the client's errors."""
    try:
        return call(*args)
    except rag.IndexNotFound as exc:
        raise ApiError(404, str(exc), param="index_name", code="index_not_found") from None
    except ValueError as exc:  # WrongDimension, or a filter S3 Vectors refused
        raise ApiError(400, str(exc), param=param, code="invalid_value") from None


class RagDoors:
    def __init__(self, answers: Answers, settings: Settings, store: DocumentStore | None) -> None:
        self.answers, self.pipeline, self.settings, self.store = answers, answers.pipeline, settings, store

    async def _body(self, request: Request, schema: type, limit: int) -> tuple[dict[str, Any], DocumentStore]:
        if self.store is None:
            raise ApiError(404, "RAG is not set up on this gateway (its stack has no RagStore)", code="rag_disabled")
        body = await read_json_object(request, limit)
        check(body, schema)
        return body, self.store

    async def _call(self, call: Any, *args: Any, param: str) -> Any:
        return await run_in_threadpool(_store_call, call, *args, param=param)

    async def ingest(self, request: Request, caller: Caller) -> Response:
        body, store = await self._body(request, RagIngestRequest, self.settings.max_upload_bytes)
        documents, index = _documents(body["documents"]), body.get("index_name") or self.settings.rag_index_name
        alias = body.get("embedding_model") or self.settings.rag_embedder
        embeddings = await self.answers.embed(caller, alias, [d.text for d in documents])
        await self._call(store.put, caller.tenant_id, index, documents, embeddings.vectors, param="embedding_model")
        return JSONResponse({"ingested": len(documents), "index_name": index})

    async def query(self, request: Request, caller: Caller) -> Response:
        body, store = await self._body(request, RagQueryRequest, self.settings.max_body_bytes)
        question, model = body["query"].strip(), body["model"].strip()
        if not question or not model:
            empty = "query" if not question else "model"
            raise ApiError(400, f"'{empty}' must not be empty", param=empty, code="invalid_value")
        index = body.get("index_name") or self.settings.rag_index_name
        retrieved = Retrieved()

        def retrieve(text: str) -> str:  # by the pipeline, once the request is admitted and let through
            vector, retrieved.embedding_cost = self.pipeline.embed_question(
                body.get("embedding_model") or self.settings.rag_embedder, text, caller.allowed_models)
            retrieved.passages = _store_call(store.query, caller.tenant_id, index, vector, body.get("top_k") or 5,
                                             body.get("metadata_filter"), param="metadata_filter")
            caller.headers["x-gateway-rag-keys"] = ",".join(p.key for p in retrieved.passages)[:1024]
            return rag.render(retrieved.passages)

        system = [{"role": "system", "content": rag.INSTRUCTIONS}]
        if (body.get("system_prompt") or "").strip():  # the seed's: extra instructions after the documents
            system.append({"role": "system", "content": body["system_prompt"]})
        params = {k: body[k] for k in ("temperature", "max_tokens") if body.get(k) is not None}
        query = Query(caller.tenant_id, (*system, {"role": "user", "content": question}), model, params,
                      retrieve=retrieve, **caller.query_fields())
        chat = Chat(caller.request_id, model, int(time.time()))

        def priced(outcome: Outcome) -> Outcome:  # the question's embedding is part of the request's cost
            return replace(outcome, cost_usd=outcome.cost_usd + retrieved.embedding_cost)

        if not body.get("stream"):
            outcome = priced(await self.answers.answer(caller, query, "query"))
            caller.outcome = outcome
            caller.headers["x-gateway-cost-usd"] = f"{outcome.cost_usd:.6f}"
            context = [{"key": p.key, "distance": p.distance} for p in retrieved.passages]
            return JSONResponse({**chat.completion(outcome), "rag_context": context})
        stream = await self.answers.stream(caller, query, "query")
        return StreamingResponse(
            chat.chunks(stream, include_usage=False, done=lambda outcome: describe(priced(outcome), caller)),
            media_type="text/event-stream", headers={**SSE_HEADERS, **caller.headers})

    async def delete(self, request: Request, caller: Caller) -> Response:
        body, store = await self._body(request, RagDeleteRequest, self.settings.max_upload_bytes)
        index = body.get("index_name") or self.settings.rag_index_name
        await self._call(store.delete, caller.tenant_id, index, body["keys"], param="keys")
        return JSONResponse({"deleted": len(body["keys"]), "index_name": index})
