"""The local runner (``make dev``): the synthesized stack on a local AWS emulator (moto, in its own process), without an
AWS account (DESIGN.md section 4)."""

from llm_gateway.local.runner import LocalGateway

__all__ = ["LocalGateway"]
