"""OpenAI request bodies, for validation and for the published OpenAPI schema.

The gateway forwards the body it received (with `model` replaced), never a re-serialised
model, so fields these classes do not know pass through to the upstream untouched. The routes
read raw requests (to check the JSON themselves, gateway/api/body.py), so FastAPI would
publish no request body: `request_body` declares it, and the error envelope for every error
status, so that fuzzers and SDK generators can use /openapi.json.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class _Open(BaseModel):
    # strict: "0.5" is not a number and 1 is not a boolean, as the published schema says
    model_config = ConfigDict(extra="allow", strict=True)


class StreamOptions(_Open):
    include_usage: bool | None = None


class ChatMessage(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[Any] | None = None


# OpenAI's ranges; a field outside them would reach an engine that may crash on it
# (llama-cpp-python indexes its logits with a logit_bias key: "a" or "-1" is a 500 or a bias
# on the wrong token)
TokenId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,9}$")]
Bias = Annotated[float, Field(ge=-100, le=100)]
Penalty = Annotated[float, Field(ge=-2, le=2)]


class _Generation(_Open):
    model: str = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    n: int | None = Field(None, ge=1, le=128)  # OpenAI's limit
    stop: str | list[str] | None = None
    logit_bias: dict[TokenId, Bias] | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    seed: int | None = None


class ChatCompletionRequest(_Generation):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)


class CompletionRequest(_Generation):
    prompt: str | list[str] | list[int] | list[list[int]]
    echo: bool | None = None
    logprobs: int | None = Field(None, ge=0, le=20)


class RouteRequest(_Open):
    """`POST /v1/route`: a chat or completion body; `messages` or `prompt`."""

    model: str = Field(min_length=1)
    messages: list[ChatMessage] | None = Field(None, min_length=1)
    prompt: str | list[str] | list[int] | list[list[int]] | None = None
    max_tokens: int | None = Field(None, ge=1)


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorEnvelope(BaseModel):
    error: ErrorDetail


COMPONENTS: dict[str, Any] = {}  # schema definitions the request bodies refer to
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": what}
    for status, what in {
        400: "invalid request",
        401: "missing or invalid API key",
        403: "admin key required",
        404: "unknown model",
        413: "request too large",
        415: "the body must be JSON",
        429: "overloaded or rate limited (Retry-After)",
        502: "the variant answered badly",
        503: "no variant could be reached",
        504: "no variant answered in time",
    }.items()
}


GENERATED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the completion (JSON), or with `stream: true` its chunks (SSE)",
        "content": {"application/json": {}, "text/event-stream": {}},
    },
    **ERRORS,
}


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads `model` from a raw JSON request."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    COMPONENTS.update(schema.pop("$defs", {}))
    COMPONENTS[model.__name__] = schema
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}
