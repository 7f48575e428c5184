"""Every door's request body, typed (msgspec: strict types, a JSON Schema for ``/openapi.json``,
and a few hundred kilobytes in the Lambda bundle where pydantic would take three megabytes).

A body is checked against its schema and handed on as the dict it was: the doors keep reading it,
and fields OpenAI added after this file (or a client's extras) pass through, as OpenAI tolerates
them. A type error becomes a 400 in OpenAI's shape whose ``param`` names the field.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any, Literal

import msgspec

from llm_gateway.api.errors import ApiError

Text = Annotated[str, msgspec.Meta(max_length=1_000_000)]
Name = Annotated[str, msgspec.Meta(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
Temperature = Annotated[float, msgspec.Meta(ge=0, le=2)]
Probability = Annotated[float, msgspec.Meta(ge=0, le=1)]
Penalty = Annotated[float, msgspec.Meta(ge=-2, le=2)]
Positive = Annotated[int, msgspec.Meta(ge=1)]


class Schema(msgspec.Struct, omit_defaults=True):
    """Unknown fields are ignored (and kept in the body the door reads), as OpenAI does."""


# -- content parts -----------------------------------------------------------------------------
class TextPart(Schema, tag_field="type", tag="text"):
    text: Text


class InputText(Schema, tag_field="type", tag="input_text"):
    text: Text


class ImageUrl(Schema):
    url: Text
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(Schema, tag_field="type", tag="image_url"):
    image_url: ImageUrl


class InputAudio(Schema):
    data: str
    format: str


class AudioPart(Schema, tag_field="type", tag="input_audio"):
    input_audio: InputAudio


class File(Schema):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class FilePart(Schema, tag_field="type", tag="file"):
    file: File


class RefusalPart(Schema, tag_field="type", tag="refusal"):
    refusal: str


Part = TextPart | InputText | ImagePart | AudioPart | FilePart
TextParts = list[TextPart | InputText]


# -- messages ----------------------------------------------------------------------------------
class FunctionCall(Schema):
    name: str
    arguments: str


class ToolCall(Schema):
    id: str
    function: FunctionCall
    type: Literal["function"] = "function"


class SystemMessage(Schema, tag_field="role", tag="system"):
    content: str | TextParts
    name: str | None = None


class DeveloperMessage(Schema, tag_field="role", tag="developer"):
    content: str | TextParts
    name: str | None = None


class UserMessage(Schema, tag_field="role", tag="user"):
    content: str | list[Part]
    name: str | None = None


class AssistantMessage(Schema, tag_field="role", tag="assistant"):
    content: str | list[TextPart | RefusalPart] | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None
    name: str | None = None


class ToolMessage(Schema, tag_field="role", tag="tool"):
    content: str | TextParts
    tool_call_id: str


Message = SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage


# -- tools and output formats ------------------------------------------------------------------
class FunctionDefinition(Schema):
    name: Name
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(Schema):
    type: Literal["function"]
    function: FunctionDefinition


class ToolChoiceFunction(Schema):
    name: Name


class ToolChoice(Schema):
    type: Literal["function"]
    function: ToolChoiceFunction


class JsonSchemaFormat(Schema):
    name: Name
    description: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None


class TextFormat(Schema, tag_field="type", tag="text"):
    pass


class JsonObjectFormat(Schema, tag_field="type", tag="json_object"):
    pass


class JsonSchemaResponseFormat(Schema, tag_field="type", tag="json_schema"):
    json_schema: JsonSchemaFormat


class StreamOptions(Schema):
    include_usage: bool | None = None


# -- the doors' bodies ---------------------------------------------------------------------------
class ChatCompletionRequest(Schema):
    model: str
    messages: Annotated[list[Message], msgspec.Meta(min_length=1)]
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    temperature: Temperature | None = None
    top_p: Probability | None = None
    n: Positive | None = None
    max_tokens: Positive | None = None
    max_completion_tokens: Positive | None = None
    stop: str | Annotated[list[str], msgspec.Meta(max_length=4)] | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    logit_bias: dict[str, Annotated[int, msgspec.Meta(ge=-100, le=100)]] | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, msgspec.Meta(ge=0, le=20)] | None = None
    seed: int | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: TextFormat | JsonObjectFormat | JsonSchemaResponseFormat | None = None


class ResponseTool(Schema):
    type: str
    name: Name | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ResponsesRequest(Schema):
    model: str
    input: str | list[dict[str, Any]]  # items are checked one by one: "type" may be left out
    instructions: str | None = None
    stream: bool | None = None
    temperature: Temperature | None = None
    top_p: Probability | None = None
    max_output_tokens: Positive | None = None
    tools: list[ResponseTool] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    previous_response_id: str | None = None
    store: bool | None = None


class OutputText(Schema, tag_field="type", tag="output_text"):
    text: Text


class InputImage(Schema, tag_field="type", tag="input_image"):
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["auto", "low", "high"] | None = None


class InputFile(File, tag_field="type", tag="input_file"):
    """The Responses API's file part: a chat ``File``'s fields, inline."""


class InputMessage(Schema):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[InputText | OutputText | InputImage | InputFile]
    type: Literal["message"] = "message"


class InputFunctionCall(Schema):
    call_id: str
    name: str
    arguments: str
    type: Literal["function_call"] = "function_call"


class InputFunctionOutput(Schema):
    call_id: str
    output: str
    type: Literal["function_call_output"] = "function_call_output"


INPUT_ITEMS: dict[str, type[Schema]] = {"message": InputMessage, "function_call": InputFunctionCall,
                                        "function_call_output": InputFunctionOutput}


class EmbeddingsRequest(Schema):
    model: str
    input: str | list[str]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Positive | None = None
    user: str | None = None


# -- images and audio (seed 003) ----------------------------------------------------------------
class ImagesRequest(Schema):
    model: str
    prompt: Annotated[str, msgspec.Meta(max_length=32_000)]
    n: Annotated[int, msgspec.Meta(ge=1, le=10)] | None = None
    size: Annotated[str, msgspec.Meta(pattern=r"^(auto|\d{2,4}x\d{2,4})$")] | None = None
    quality: str | None = None
    response_format: Literal["url", "b64_json"] | None = None
    style: str | None = None
    user: str | None = None


class SpeechRequest(Schema):
    model: str
    input: Annotated[str, msgspec.Meta(max_length=4096)]
    voice: str
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] | None = None
    speed: Annotated[float, msgspec.Meta(ge=0.25, le=4.0)] | None = None
    instructions: str | None = None


class TranscriptionRequest(Schema):
    """Seed 003's JSON form (the openai SDK sends the same fields as multipart/form-data, ``file``
    instead of ``audio`` and ``filename``)."""

    model: str
    audio: str  # base64
    filename: Annotated[str, msgspec.Meta(max_length=255)] | None = None
    language: str | None = None
    prompt: str | None = None
    response_format: Literal["json", "text", "srt", "verbose_json", "vtt"] | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None
    timestamp_granularities: list[Literal["word", "segment"]] | None = None


# -- RAG (seed 003) ------------------------------------------------------------------------------
IndexName = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]  # S3 Vectors' rule
DocumentKey = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
Metadata = dict[str, str | int | float | bool | list[str]]


class RagDocument(Schema):
    key: DocumentKey
    text: Annotated[str, msgspec.Meta(min_length=1)]
    metadata: Metadata | None = None


class RagIngestRequest(Schema):
    documents: Annotated[list[RagDocument], msgspec.Meta(min_length=1, max_length=100)]
    index_name: IndexName | None = None
    embedding_model: str | None = None


class RagQueryRequest(Schema):
    query: Text
    model: str
    stream: bool | None = None
    top_k: Annotated[int, msgspec.Meta(ge=1, le=20)] | None = None
    index_name: IndexName | None = None
    system_prompt: Text | None = None
    metadata_filter: dict[str, Any] | None = None
    embedding_model: str | None = None
    temperature: Temperature | None = None
    max_tokens: Positive | None = None


class RagDeleteRequest(Schema):
    keys: Annotated[list[DocumentKey], msgspec.Meta(min_length=1, max_length=500)]
    index_name: IndexName | None = None


class AskRequest(Schema):
    question: str


class InvokeRequest(Schema):
    prompt: str


DOORS: dict[str, type[Schema]] = {
    "/v1/chat/completions": ChatCompletionRequest, "/v1/responses": ResponsesRequest,
    "/v1/embeddings": EmbeddingsRequest, "/v1/images/generations": ImagesRequest,
    "/v1/audio/transcriptions": TranscriptionRequest, "/v1/audio/speech": SpeechRequest,
    "/v1/rag/ingest": RagIngestRequest, "/v1/rag/query": RagQueryRequest, "/v1/rag/delete": RagDeleteRequest,
    "/ask": AskRequest, "/invoke": InvokeRequest}

_MISSING = re.compile(r"^Object missing required field `([^`]+)`$")
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def param_of(path: str) -> str | None:
    """msgspec's ``$.messages[0].content`` as OpenAI's ``param``: ``messages[0].content``."""
    return path.lstrip(".") or None


def check(body: dict[str, Any], schema: type[Schema], *, at: str = "") -> Any:
    """The body as ``schema`` (a Struct), or a 400 naming the first field that is wrong."""
    try:
        return msgspec.convert(body, schema)
    except msgspec.ValidationError as exc:
        match = _AT.match(str(exc))
        message, path = (match.group("message"), match.group("path") or "") if match else (str(exc), "")
        missing = _MISSING.match(message)
        if missing:
            param = param_of(f"{at}{path}.{missing.group(1)}")
            raise ApiError(400, f"Missing required parameter: '{param}'.", param=param,
                           code="missing_required_parameter") from None
        param = param_of(at + path) if at or path else None
        where = f" for '{param}'" if param else ""
        code = "invalid_type" if message.startswith("Expected") else "invalid_value"
        raise ApiError(400, f"Invalid value{where}: {message}", param=param, code=code) from None


@functools.cache
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the doors' request bodies (``GET /openapi.json``), built on
    first request: a fifth of the app's own init otherwise."""
    schemas, components = msgspec.json.schema_components(list(DOORS.values()),
                                                         ref_template="#/components/schemas/{name}")
    error = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["message", "type", "param", "code"], "properties": {
            "message": {"type": "string"}, "type": {"type": "string"},
            "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]}}}}}
    components["Error"] = error
    errors = {str(status): {"description": text, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}
        for status, text in ((400, "invalid request"), (401, "missing or invalid API key"),
                             (403, "model not allowed"), (413, "body too large"), (429, "quota exceeded"),
                             (502, "upstream failed"))}
    paths: dict[str, Any] = {
        path: {"post": {"operationId": path.strip("/").replace("/", "_"),
                        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
                        "responses": {"200": {"description": "the answer"}, **errors}}}
        for path, schema in zip(DOORS, schemas, strict=True)}
    paths["/v1/models"] = {"get": {"operationId": "v1_models", "responses": {"200": {"description": "aliases"}}}}
    paths["/v1/models/{model}"] = {"get": {"operationId": "v1_model", "parameters": [
        {"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "one alias"}, "404": errors["400"] | {"description": "unknown"}}}}
    paths["/health"] = {"get": {"operationId": "health", "responses": {"200": {"description": "up"}}}}
    return {"openapi": "3.1.0", "info": {"title": "llm-gateway", "version": "1"},
            "components": {"schemas": components,
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}], "paths": paths}
