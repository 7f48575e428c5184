"""Reusable L3 constructs. Import them into any CDK app after ``pip install llm-gateway``::

    from llm_gateway.constructs import EvalLoop, GuardedEndpoint, SemanticCache
"""

from llm_gateway.constructs.eval_loop import EvalLoop
from llm_gateway.constructs.guarded_endpoint import GuardedEndpoint, GuardrailPolicy
from llm_gateway.constructs.lex_chatbot import LexChatbot
from llm_gateway.constructs.model_router import ModelRouter
from llm_gateway.constructs.models import ModelAccess
from llm_gateway.constructs.monitoring import GatewayMonitoring
from llm_gateway.constructs.rag_store import RagStore
from llm_gateway.constructs.rate_limiter import RateLimiter
from llm_gateway.constructs.semantic_cache import SemanticCache
from llm_gateway.constructs.tenant_authorizer import TenantAuthorizer
from llm_gateway.constructs.usage_dashboard import UsageDashboard
from llm_gateway.constructs.usage_ledger import UsageLedger

__all__ = ["EvalLoop", "GatewayMonitoring", "GuardedEndpoint", "GuardrailPolicy", "LexChatbot", "ModelAccess",
           "ModelRouter", "RagStore", "RateLimiter", "SemanticCache", "TenantAuthorizer", "UsageDashboard",
           "UsageLedger"]
