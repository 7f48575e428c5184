"""Gateway function: the ASGI app, started by ``run.sh`` behind the Lambda Web Adapter layer, with
the extension that lets it answer before its records are written."""

from llm_gateway.api.app import create_app
from llm_gateway.lambdas.after_response import hold_invocations

_app = create_app()
app = hold_invocations(_app, _app.state.pipeline.background)
