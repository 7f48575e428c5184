"""Regenerate ``openai_openapi_subset.json``: the component schemas of OpenAI's published OpenAPI
document (github.com/openai/openai-openapi, MIT) that the gateway's responses must satisfy, with
everything they reference. Usage: python tests/data/extract_openai_schemas.py openapi.json COMMIT"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOTS = ["CreateChatCompletionResponse", "CreateChatCompletionStreamResponse", "Response", "ResponseStreamEvent",
         "CreateEmbeddingResponse", "ListModelsResponse", "Model", "ErrorResponse"]


def main(source: str, commit: str) -> None:
    document = json.loads(Path(source).read_text())
    schemas = document["components"]["schemas"]
    kept: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/") and ref.split("/")[-1] not in kept:
                kept.add(ref.split("/")[-1])
                walk(schemas[ref.split("/")[-1]])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for root in ROOTS:
        kept.add(root)
        walk(schemas[root])
    subset = {"source": f"https://github.com/openai/openai-openapi/blob/{commit}/openapi.json (MIT)",
              "openapi": document["openapi"], "version": document["info"]["version"],
              "components": {"schemas": {name: schemas[name] for name in sorted(kept)}}}
    (Path(__file__).parent / "openai_openapi_subset.json").write_text(json.dumps(subset, indent=1) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
