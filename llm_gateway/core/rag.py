"""Retrieval-augmented answers on Amazon S3 Vectors (seed 003).

Documents are embedded and put into a vector index of the RAG bucket; a question is embedded, its
nearest documents found, and the answer generated from them through the one pipeline (the
documents ride in ``Query.documents``: part of the prompt and of the cache scope, and free to be
quoted, unlike a system prompt).

Tenants share an index, never documents: every vector carries its tenant as filterable metadata
and every query is filtered on it, and a vector's key starts with a hash of its tenant, so two
tenants' documents of the same key are two vectors. The text is kept as non-filterable metadata
(``source_text``), so a query returns what the model needs without a second read.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llm_gateway.contract import RAG_SOURCE_TEXT as SOURCE_TEXT  # the document's text: non-filterable

TENANT = "gateway_tenant"  # whose document it is: filterable, set by the gateway, never by a client
RESERVED = frozenset({SOURCE_TEXT, TENANT})
MAX_TEXT_BYTES = 30_000  # S3 Vectors keeps 40 KB of metadata a vector; the rest is the caller's
MAX_FILTERABLE_BYTES = 1_500  # a document's own metadata: S3 Vectors filters on 2 KB a vector, the tenant's included
PUT_BATCH = 500  # PutVectors' limit per call
INSTRUCTIONS = ("Answer the user's question from the documents given with it. If they do not hold the "
                "answer, say that you do not know rather than guessing.")


class IndexNotFound(LookupError):
    """No such vector index in the RAG bucket (nothing was ever ingested into it)."""


class WrongDimension(ValueError):
    """The embedding model's vectors do not fit the index (made for another model)."""


@dataclass(frozen=True)
class Document:
    key: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Passage:
    """A retrieved document: its key, its cosine distance to the question, its text."""

    key: str
    distance: float
    text: str


def render(passages: Sequence[Passage]) -> str:
    """The documents as the model reads them, in the system prompt after the instructions."""
    if not passages:
        return "Documents: none were found for this question."
    return "Documents:\n" + "\n".join(
        f'<document key="{p.key}">\n{p.text}\n</document>' for p in passages)


def first_document(prompt: str) -> tuple[str, str] | None:
    """The first (key, text) ``render`` put in a prompt: what the local stand-in answers from."""
    found = _DOCUMENT.search(prompt)
    return (found.group(1), found.group(2)) if found else None


_DOCUMENT = re.compile(r'<document key="([^"]*)">\n(.*?)\n</document>', re.DOTALL)


class DocumentStore:
    """The RAG bucket's indexes. An index missing on first ingest is created at the embedding
    model's dimension (cosine, ``source_text`` non-filterable), as the construct creates the default
    one; a query against an index that does not exist is ``IndexNotFound``."""

    def __init__(self, bucket_arn: str, client: Any) -> None:
        self._bucket, self._client = bucket_arn, client

    def _index(self, name: str) -> str:
        return f"{self._bucket}/index/{name}"

    @staticmethod
    def _prefix(tenant_id: str) -> str:
        return hashlib.sha256(tenant_id.encode()).hexdigest()[:24] + ":"

    def put(self, tenant_id: str, index_name: str, documents: Sequence[Document],
            vectors: Sequence[Sequence[float]]) -> None:
        """Upsert: a document whose key the tenant already put replaces it."""
        prefix = self._prefix(tenant_id)
        dimension = len(vectors[0]) if vectors else 0
        items: list[dict[str, Any]] = [{"key": prefix + doc.key, "data": {"float32": [float(x) for x in vector]},
                  "metadata": {**doc.metadata, TENANT: tenant_id, SOURCE_TEXT: doc.text}}
                 for doc, vector in zip(documents, vectors, strict=True)]
        for at in range(0, len(items), PUT_BATCH):
            request = {"indexArn": self._index(index_name), "vectors": items[at:at + PUT_BATCH]}
            with self._errors(index_name, dimension):
                try:
                    self._client.put_vectors(**request)
                except self._client.exceptions.NotFoundException:
                    self._create(index_name, dimension)
                    self._client.put_vectors(**request)

    def query(self, tenant_id: str, index_name: str, vector: Sequence[float], top_k: int,
              metadata_filter: dict[str, Any] | None = None) -> list[Passage]:
        """The tenant's ``top_k`` documents nearest ``vector`` that pass ``metadata_filter``."""
        own: dict[str, Any] = {TENANT: tenant_id}
        flt = {"$and": [own, metadata_filter]} if metadata_filter else own
        with self._errors(index_name, len(vector)):
            found = self._client.query_vectors(
                indexArn=self._index(index_name), topK=top_k, queryVector={"float32": [float(x) for x in vector]},
                filter=flt, returnMetadata=True, returnDistance=True)["vectors"]
        skip = len(self._prefix(tenant_id))
        return [Passage(v["key"][skip:], round(float(v["distance"]), 6), str(v["metadata"].get(SOURCE_TEXT, "")))
                for v in found]

    def delete(self, tenant_id: str, index_name: str, keys: Sequence[str]) -> None:
        prefix = self._prefix(tenant_id)
        with self._errors(index_name, 0):
            self._client.delete_vectors(indexArn=self._index(index_name), keys=[prefix + k for k in keys])

    def _create(self, index_name: str, dimension: int) -> None:
        with contextlib.suppress(self._client.exceptions.ConflictException):  # another ingest was first
            self._client.create_index(vectorBucketArn=self._bucket, indexName=index_name, dataType="float32",
                                      dimension=dimension, distanceMetric="cosine",
                                      metadataConfiguration={"nonFilterableMetadataKeys": [SOURCE_TEXT]})

    @contextlib.contextmanager
    def _errors(self, index_name: str, dimension: int) -> Any:
        """S3 Vectors' refusals as what they mean to the caller."""
        try:
            yield
        except self._client.exceptions.NotFoundException:
            raise IndexNotFound(f"no vector index named {index_name!r}: ingest documents into it first") from None
        except self._client.exceptions.ValidationException as exc:
            message = str(exc)
            if "dimension" in message.lower() or "length" in message.lower():
                raise WrongDimension(
                    f"index {index_name!r} holds vectors of another dimension than this embedding model's "
                    f"({dimension}): use the embedding model the index was made with, or another index") from None
            raise ValueError(message.split(": ", 1)[-1]) from None
