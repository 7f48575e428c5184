"""Transport-free core: the pipeline and what it is made of. Nothing here knows about HTTP,
Lambda events or CDK."""
