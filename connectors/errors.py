"""Errors a step can end with. The engine records `category` and `message` on the step and decides
whether to retry from `retryable` (and `retry_after`, seconds, when the upstream said so)."""
from __future__ import annotations

AUTH = "auth"
VALIDATION = "validation"
NOT_FOUND = "not_found"
RATE_LIMITED = "rate_limited"
UPSTREAM = "upstream_error"
TIMEOUT = "timeout"
MAPPING = "mapping"
SSRF = "ssrf_blocked"
CRASHED = "crashed"
CATEGORIES = (AUTH, VALIDATION, NOT_FOUND, RATE_LIMITED, UPSTREAM, TIMEOUT, MAPPING, SSRF, CRASHED)
TRANSIENT = {RATE_LIMITED, UPSTREAM, TIMEOUT}


class StepError(Exception):
    """A step failed. `request`/`response` (already redacted dicts) go to the step record."""

    def __init__(self, category: str, message: str, *, retryable: bool | None = None,
                 retry_after: float | None = None, request: dict | None = None,
                 response: dict | None = None, possible_duplicate: bool = False):
        super().__init__(message)
        self.category = category
        self.message = message
        self.retryable = category in TRANSIENT if retryable is None else retryable
        self.retry_after = retry_after
        self.request = request
        self.response = response
        self.possible_duplicate = possible_duplicate

    def __str__(self):
        return f"{self.category}: {self.message}"


def body_message(body, limit: int = 300) -> str:
    """The human part of an upstream error body in its common shapes ({"message"}, {"error":
    {"message"}}, {"errors": [{"message"}]}, {"detail"}, plain text), or ""."""
    if isinstance(body, str):
        return body.strip()[:limit]
    if not isinstance(body, dict):
        return ""
    for key in ("message", "error_description", "detail", "error", "errors", "msg"):
        value = body.get(key)
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, dict):
            value = value.get("message") or value.get("msg") or value.get("detail")
        if isinstance(value, (str, int, float)) and str(value).strip():
            return str(value).strip()[:limit]
    return ""
