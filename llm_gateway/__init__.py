"""Guardrailed LLM gateway: CDK constructs (``llm_gateway.constructs``), the Lambda code they
deploy (``llm_gateway.lambdas`` over the transport-free ``llm_gateway.core``) and a local runner
(``llm_gateway.local``) that serves the same app without an AWS account."""

__version__ = "0.1.0"
