"""Every error quantgate raises on purpose, in one tree.

    QuantgateError
    ├── ConfigError                 bad profile or settings; the CLI exits with status 2
    │   ├── ProfileError            names the file, the field and what was expected
    │   └── MemoryBudgetError       the variants would not fit in memory (says by how much)
    ├── BuildError                  an artifact could not be built (names the step and log)
    ├── EngineError                 an engine would not start or stay up (with its last log lines)
    └── GatewayError                an API error, rendered as the OpenAI error envelope
        ├── InvalidRequest          400 invalid_request_error (param names the field)
        │   ├── ModelNotFound       404 model_not_found
        │   ├── RequestTooLarge     413 request_too_large
        │   ├── UnsupportedMediaType  415 unsupported_media_type (the body must be JSON)
        │   ├── ContextLengthExceeded  400 context_length_exceeded (names the limit)
        │   ├── ToleranceUnmet      400 quality_tolerance_unmet (only variants too lossy fit)
        │   ├── UnsupportedParameter  400 unsupported_parameter (names the field and variant)
        │   ├── InvalidApiKey       401 invalid_api_key (keys are configured: quantgate keys)
        │   ├── AdminOnly           403 admin_key_required (engine details, scrape targets)
        │   └── VariantNotAllowed   403 variant_not_allowed (the key may not use it)
        ├── TooManyRequests         429, with Retry-After
        │   ├── Overloaded          every candidate variant is at its limit and its queue is
        │   │                       full or was waited on too long
        │   └── RateLimited         the key's requests per minute are spent
        └── UpstreamError           502 the variant answered badly
            ├── UpstreamUnavailable 503 no variant could be reached
            ├── UpstreamTimeout     504 the variant did not answer in time
            └── StreamIncomplete    a stream ended without a finish_reason or `[DONE]`

A `GatewayError` carries its HTTP status and the envelope fields; `gateway.api.errors` has the
one handler that turns any of them (and framework errors) into
`{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

from typing import Any


class QuantgateError(Exception):
    """Base of every error quantgate raises on purpose."""


class ConfigError(QuantgateError):
    """A profile or setting is wrong; the message says where and what was expected."""


class ProfileError(ConfigError):
    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: invalid profile\n{lines}")


class MemoryBudgetError(ConfigError):
    """The variants a profile would start do not fit in the memory available."""


class BuildError(QuantgateError):
    """An artifact could not be built; the message names the step and where its log is."""


class EngineError(QuantgateError):
    """An engine process did not start, or did not become ready, in time."""


class GatewayError(QuantgateError):
    status: int = 500
    type: str = "server_error"
    code: str | None = "internal_error"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param

    def envelope(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequest(GatewayError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class ModelNotFound(InvalidRequest):
    status = 404
    code = "model_not_found"


class RequestTooLarge(InvalidRequest):
    status = 413
    code = "request_too_large"


class UnsupportedMediaType(InvalidRequest):
    status = 415
    code = "unsupported_media_type"


class ContextLengthExceeded(InvalidRequest):
    code = "context_length_exceeded"


class ToleranceUnmet(InvalidRequest):
    code = "quality_tolerance_unmet"


class UnsupportedParameter(InvalidRequest):
    """A field the chosen variant's engine would drop silently; refused instead."""

    code = "unsupported_parameter"


class InvalidApiKey(InvalidRequest):
    status = 401
    code = "invalid_api_key"


class AdminOnly(InvalidRequest):
    status = 403
    type = "permission_error"
    code = "admin_key_required"


class VariantNotAllowed(InvalidRequest):
    status = 403
    type = "permission_error"
    code = "variant_not_allowed"


class TooManyRequests(GatewayError):
    """Try again after `retry_after` seconds (sent as Retry-After)."""

    status = 429
    type = "requests"
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Overloaded(TooManyRequests):
    """Admission control refused the request."""

    code = "overloaded"


class RateLimited(TooManyRequests):
    """The API key's requests per minute are spent."""

    code = "rate_limit_exceeded"


class RateLimiterUnavailable(GatewayError):
    """The shared limits' store (Redis) is down and the policy is to fail closed."""

    status = 503
    code = "rate_limiter_unavailable"


class UpstreamError(GatewayError):
    status = 502
    type = "upstream_error"
    code = "bad_gateway"


class UpstreamUnavailable(UpstreamError):
    status = 503
    code = "upstream_unavailable"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


class StreamIncomplete(UpstreamError):
    """The upstream ended a stream without finishing every choice (or without `[DONE]`)."""

    code = "stream_incomplete"
