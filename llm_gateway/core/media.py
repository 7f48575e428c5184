"""Images and audio (seed 003): what a request asks of a provider and what comes back, in OpenAI's
shapes whatever the provider, and what the local stand-in makes of them.

A provider that serves media has ``media(request, model, key, timeout) -> MediaResult``; the
content is the response body as the client receives it (OpenAI's image JSON, a transcript in the
format asked, audio bytes). ``units`` is what the model is priced by (``Price.unit``): images made,
minutes of audio heard, millions of characters spoken.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from llm_gateway.core.chat import UpstreamError, Usage

Operation = Literal["images", "transcriptions", "speech"]
IMAGE_SIZE = "1024x1024"
SPEECH_FORMATS = {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac",
                  "wav": "audio/wav", "pcm": "audio/pcm"}
TRANSCRIPT_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")


@dataclass(frozen=True)
class MediaRequest:
    operation: Operation
    fields: dict[str, Any]  # the request's own fields (OpenAI's names), the model alias left out
    audio: bytes = b""  # a transcription's upload
    filename: str = "audio"

    @property
    def text(self) -> str:
        """What the input guardrail reads: an image's prompt, the words to speak."""
        return str(self.fields.get("prompt" if self.operation == "images" else "input") or "")

    def with_text(self, text: str) -> MediaRequest:
        return replace(self, fields={**self.fields, "prompt" if self.operation == "images" else "input": text})


@dataclass(frozen=True)
class MediaResult:
    content: bytes
    content_type: str
    units: float = 0.0
    usage: Usage = field(default_factory=Usage)


def speech_characters(request: MediaRequest) -> float:
    """Speech is priced per million characters spoken."""
    return len(request.text) / 1_000_000


def transcript_minutes(reply: dict[str, Any], audio: bytes) -> float:
    """Minutes heard: the provider's own figure where it gives one (``usage.seconds``, or
    ``duration``), else an estimate from the upload's size at 128 kbit/s."""
    usage = reply.get("usage")
    seconds = (usage.get("seconds") if isinstance(usage, dict) else None) or reply.get("duration")
    return float(seconds) / 60 if isinstance(seconds, int | float) else len(audio) / 16_000 / 60


def transcript(text: str, response_format: str, seconds: float) -> tuple[bytes, str]:
    """A transcript rendered as OpenAI renders it in each ``response_format``."""
    if response_format == "text":
        return text.encode(), "text/plain; charset=utf-8"
    if response_format in ("srt", "vtt"):
        end = f"00:00:{min(seconds, 59.999):06.3f}"
        if response_format == "srt":
            return f"1\n00:00:00,000 --> {end.replace('.', ',')}\n{text}\n".encode(), "text/plain; charset=utf-8"
        return f"WEBVTT\n\n00:00:00.000 --> {end}\n{text}\n".encode(), "text/vtt; charset=utf-8"
    body: dict[str, Any] = {"text": text, "usage": {"type": "duration", "seconds": round(seconds)}}
    if response_format == "verbose_json":
        body |= {"task": "transcribe", "language": "english", "duration": seconds,
                 "segments": [{"id": 0, "start": 0.0, "end": seconds, "text": text}]}
    return json.dumps(body).encode(), "application/json"


# -- the local stand-in's renderings --------------------------------------------------------------
def placeholder_png(prompt: str, size: str) -> bytes:
    """A flat image of the requested size whose colour comes from the prompt: deterministic, and a
    real PNG any viewer opens."""
    width, height = (int(x) for x in (IMAGE_SIZE if size in ("", "auto") else size).split("x"))
    if max(width, height) > 2048:
        raise UpstreamError(400, "the local stand-in draws at most 2048 pixels a side")
    rgb = hashlib.sha256(prompt.encode()).digest()[:3]
    raw = (b"\x00" + rgb * width) * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def silent_audio(text: str, response_format: str) -> bytes:
    """Silence as long as reading ``text`` aloud would take (about 15 characters a second)."""
    seconds = max(0.5, len(text) / 15)
    if response_format == "mp3":  # MPEG-1 Layer III frames, 128 kbit/s at 44.1 kHz: 417 bytes, 26 ms each
        frame = b"\xff\xfb\x90\x64" + bytes(413)
        return frame * int(seconds * 44_100 / 1152)
    pcm = bytes(2 * int(seconds * 24_000))  # 24 kHz, 16-bit mono, as OpenAI's pcm
    if response_format == "pcm":
        return pcm
    if response_format == "wav":
        return (b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " +
                struct.pack("<IHHIIHH", 16, 1, 1, 24_000, 48_000, 2, 16) + b"data" + struct.pack("<I", len(pcm)) + pcm)
    raise UpstreamError(400, f"the local stand-in speaks mp3, wav and pcm, not {response_format}")
