"""HTTP doors over the pipeline: one ASGI app, served by uvicorn behind the Lambda Web Adapter in
AWS and by the local runner on a laptop."""
