"""Images and audio (seed 003) over the pipeline: ``POST /v1/images/generations``,
``/v1/audio/transcriptions`` (multipart, as the openai SDK sends it, or seed 003's JSON with the
audio in base64) and ``/v1/audio/speech`` (the audio's bytes for a client that accepts audio, as
the SDK does; else seed 003's ``{"audio": base64, "format"}``). Routed by alias like chat, with
the same quotas, budgets, input guardrail and usage records."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import AsyncGenerator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from llm_gateway.api.answering import Answers, describe
from llm_gateway.api.context import Caller
from llm_gateway.api.errors import ApiError, guardrail_blocked, read_body, read_json_object
from llm_gateway.api.openai_doors import model_of
from llm_gateway.api.schemas import ImagesRequest, SpeechRequest, TranscriptionRequest, check
from llm_gateway.contract import Settings
from llm_gateway.core.media import MediaRequest, MediaResult, Operation
from llm_gateway.core.pipeline import Query

MIN_SIDE, MAX_SIDE = 64, 4096  # an image's sides: what any image model takes lies within
FORM_FIELDS = ("model", "language", "prompt", "response_format", "temperature", "timestamp_granularities[]")


def _filename(name: str | None) -> str:
    return os.path.basename(name or "").strip()[:255] or "audio"


def _wants_audio(request: Request) -> bool:
    """The openai SDK asks for ``application/octet-stream``; seed 003's curl (``*/*``) gets JSON."""
    accept = request.headers.get("accept", "").lower()
    return "application/octet-stream" in accept or "audio/" in accept


async def _stream(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


class MediaDoors:
    def __init__(self, answers: Answers, settings: Settings) -> None:
        self.pipeline, self.settings = answers.pipeline, settings

    async def _run(self, caller: Caller, operation: Operation, model: str, fields: dict[str, Any],
                   param: str, **upload: Any) -> MediaResult:
        request = MediaRequest(operation, fields, **upload)
        query = Query.question(caller.tenant_id, request.text or f"({operation})", model, **caller.query_fields())
        caller.alias, caller.prompt = model, request.text
        result, outcome = await run_in_threadpool(self.pipeline.media, query, request, caller.request_id)
        describe(outcome, caller)
        if result is None:
            raise guardrail_blocked(outcome.reason, param)
        return result

    async def _text_request(self, request: Request, schema: type, text: str) -> tuple[str, dict[str, Any]]:
        """A JSON body checked against ``schema`` whose ``text`` field is not blank: its model, and
        its other fields (what the provider is sent)."""
        body = await read_json_object(request, self.settings.max_body_bytes)
        check(body, schema)
        model = model_of(body)
        if not body[text].strip():
            raise ApiError(400, f"'{text}' must not be empty", param=text, code="invalid_value")
        return model, {k: v for k, v in body.items() if k != "model"}

    async def images(self, request: Request, caller: Caller) -> Response:
        model, fields = await self._text_request(request, ImagesRequest, "prompt")
        if (size := fields.get("size")) and size != "auto" and not all(
                MIN_SIDE <= int(side) <= MAX_SIDE for side in size.split("x")):
            raise ApiError(400, f"'size' sides must be {MIN_SIDE} to {MAX_SIDE} pixels", param="size",
                           code="invalid_value")
        result = await self._run(caller, "images", model, fields, "prompt")
        return Response(result.content, media_type=result.content_type)

    async def speech(self, request: Request, caller: Caller) -> Response:
        model, fields = await self._text_request(request, SpeechRequest, "input")
        result = await self._run(caller, "speech", model, fields, "input")
        if _wants_audio(request):
            return Response(result.content, media_type=result.content_type)
        return JSONResponse({"audio": base64.b64encode(result.content).decode(),
                             "format": fields.get("response_format") or "mp3"})

    async def transcriptions(self, request: Request, caller: Caller) -> Response:
        limit = self.settings.max_upload_bytes
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            fields, audio, filename = await self._form(request, limit)
        else:
            body = await read_json_object(request, limit)
            check(body, TranscriptionRequest)
            try:
                audio = base64.b64decode(body["audio"], validate=True)
            except (binascii.Error, ValueError):
                raise ApiError(400, "'audio' must be base64", param="audio", code="invalid_value") from None
            fields = {k: v for k, v in body.items() if k not in ("audio", "filename")}
            filename = _filename(body.get("filename"))
        model = model_of(fields)
        if not audio:
            raise ApiError(400, "the audio is empty", param="file", code="invalid_value")
        fields.pop("model")
        result = await self._run(caller, "transcriptions", model, fields, "file", audio=audio, filename=filename)
        return Response(result.content, media_type=result.content_type)

    async def _form(self, request: Request, limit: int) -> tuple[dict[str, Any], bytes, str]:
        """The SDK's multipart form, checked like the JSON form (``file`` is the audio)."""
        body = await read_body(request, limit)
        try:
            form = await MultiPartParser(request.headers, _stream(body), max_files=1, max_fields=len(FORM_FIELDS),
                                         max_part_size=limit).parse()
        except MultiPartException as exc:
            raise ApiError(400, f"invalid multipart body: {exc.message}", code="invalid_value") from None
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
        fields: dict[str, Any] = {k: v for k, v in form.multi_items() if isinstance(v, str) and k in FORM_FIELDS}
        if granularities := form.getlist("timestamp_granularities[]"):
            fields.pop("timestamp_granularities[]")
            fields["timestamp_granularities"] = granularities
        if "temperature" in fields:
            try:
                fields["temperature"] = float(fields["temperature"])
            except ValueError:
                raise ApiError(400, "'temperature' must be a number", param="temperature",
                               code="invalid_type") from None
        check({**fields, "audio": ""}, TranscriptionRequest)
        return fields, await upload.read(), _filename(upload.filename)
