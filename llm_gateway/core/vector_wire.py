"""S3 Vectors requests with their vectors written by msgspec's JSON encoder.

botocore writes a list of numbers into a request one value at a time, through the service model:
1.1 ms of CPU for a 384-number vector, on the cache lookup's critical path for every query and 25
times over in a batch put (and in Lambda at 512 MB the function has about a third of a vCPU, so a
millisecond of CPU takes about three). Here each vector passes through botocore as a one-number
placeholder and is written into the serialized body just before the request is signed: the same
JSON, every number to the same float, as botocore would send (``tests/test_semantic_cache.py``
compares them), with the rest of the request still validated and serialized by botocore. msgspec
(already the doors' schema library) writes 384 floats in 12 us where ``json.dumps`` took 160. Only
documented botocore events are used (``before-parameter-build``, ``before-sign``); a retry
re-creates the request from the placeholder body, and the vectors are placed again.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

HELD = "llm_gateway.vectors"  # the request context's key for the vectors held back
PLACEHOLDER = [0.0]


def fast_vectors(client: Any) -> Any:
    """``client`` (an ``s3vectors`` client), its ``QueryVectors`` and ``PutVectors`` bodies written
    by ``json.dumps``; returned for convenience. Registering twice changes nothing."""
    for operation in ("QueryVectors", "PutVectors"):
        client.meta.events.register(f"before-parameter-build.s3vectors.{operation}", _hold,
                                    unique_id=f"{HELD}.hold.{operation}")
        client.meta.events.register(f"before-sign.s3vectors.{operation}", _place, unique_id=f"{HELD}.place.{operation}")
    return client


def _floats(vector: Any) -> list[float] | None:
    data = vector.get("float32") if isinstance(vector, dict) else None
    return data if isinstance(data, list) else None


def _hold(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    """Take the vectors out of the call's parameters (copies of the caller's dicts, never the
    caller's own), leaving placeholders that botocore serializes in microseconds."""
    if model.name == "QueryVectors":
        vector = _floats(params.get("queryVector"))
        if vector is not None:
            context[HELD] = [vector]
            params["queryVector"] = {**params["queryVector"], "float32": PLACEHOLDER}
        return
    items = params.get("vectors")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return  # botocore's validation answers it
    vectors = [_floats(item.get("data")) for item in items]
    if vectors and all(v is not None for v in vectors):
        context[HELD] = vectors
        params["vectors"] = [{**item, "data": {**item["data"], "float32": PLACEHOLDER}} for item in items]


def _place(request: Any, **_: Any) -> None:
    """Put the held vectors back into the serialized body, before it is signed."""
    held = request.context.get(HELD)
    if held is None:
        return
    body = msgspec.json.decode(request.data)
    targets = [body["queryVector"]] if "queryVector" in body else [item["data"] for item in body["vectors"]]
    for target, vector in zip(targets, held, strict=True):
        if not math.isfinite(sum(vector)):  # msgspec would write NaN as null (json.dumps refused it)
            raise ValueError("a vector holds a number that is not finite")
        target["float32"] = vector
    request.data = msgspec.json.encode(body)
