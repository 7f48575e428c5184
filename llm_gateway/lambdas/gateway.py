"""Gateway function: the ASGI app, started by ``run.sh`` behind the Lambda Web Adapter layer."""

from llm_gateway.api.app import create_app

app = create_app()
