"""The HTTP request app: call any URL. Every request goes through the SSRF-guarded client."""
from __future__ import annotations

import json

from . import errors
from .context import Result, StepContext
from .spec import ACTION, App, Operation, Param

APP = App(
    key="http",
    label="HTTP request",
    description="Call any web address (API or webhook) with your mapped data.",
    builtin=True,
    icon="globe",
)

OPERATIONS = [
    Operation(
        key="http.request",
        app="http",
        kind=ACTION,
        label="Send an HTTP request",
        description="Send a request to any URL and use the response in later steps.",
        category="HTTP",
        handler="connectors.builtin.send_request",
        params=(
            Param("url", type="string", required=True, label="URL", description="https://… (private and local addresses are blocked)"),
            Param("method", type="string", required=True, enum=("GET", "POST", "PUT", "PATCH", "DELETE"), default="POST"),
            Param("headers", type="object", label="Headers"),
            Param("query", type="object", label="Query parameters"),
            Param("body_type", type="string", enum=("json", "form", "raw", "none"), default="json", label="Body type"),
            Param("body", type="object", label="Body", description="JSON object, form fields, or raw text"),
            Param("timeout", type="number", default=30, label="Timeout (seconds)"),
            Param("follow_redirects", type="boolean", default=False),
            Param("fail_on_http_error", type="boolean", default=True, label="Fail on 4xx/5xx status"),
        ),
    ),
]

_STATUS_CATEGORY = {401: errors.AUTH, 403: errors.AUTH, 404: errors.NOT_FOUND, 408: errors.TIMEOUT, 429: errors.RATE_LIMITED}


def retry_after_seconds(headers) -> float | None:
    """`Retry-After` as seconds (delta or HTTP date)."""
    value = (headers or {}).get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime
        from datetime import datetime, timezone

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def error_for_status(status: int, message: str, **kw) -> errors.StepError:
    category = _STATUS_CATEGORY.get(status) or (errors.UPSTREAM if status >= 500 else errors.VALIDATION)
    return errors.StepError(category, message, **kw)


def decode_body(content: bytes, content_type: str):
    text = content.decode("utf-8", "replace")
    if "json" in (content_type or "") or text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def send_request(op: Operation, ctx: StepContext) -> Result:
    from .safehttp import get_client

    i = ctx.inputs
    method = str(i.get("method") or "POST").upper()
    headers = {str(k): str(v) for k, v in (i.get("headers") or {}).items()}
    if ctx.idempotency_key and not any(k.lower() == "idempotency-key" for k in headers):
        headers["Idempotency-Key"] = ctx.idempotency_key  # a retried step sends the same key
    body_type = i.get("body_type") or "json"
    body = i.get("body")
    kwargs = {}
    if method != "GET" and body_type != "none" and body not in (None, ""):
        if body_type == "json":
            kwargs["json"] = body
        elif body_type == "form":
            if not isinstance(body, dict):
                raise errors.StepError(errors.VALIDATION, "A form body must be a set of fields")
            kwargs["data"] = {k: "" if v is None else str(v) for k, v in body.items()}
        else:
            kwargs["content"] = body if isinstance(body, str) else json.dumps(body)
    request = {"method": method, "url": i.get("url"), "headers": headers, "query": i.get("query") or {},
               "body": body if kwargs else None}
    client = ctx.client or get_client()
    try:
        resp = client.request(method, str(i.get("url") or ""), headers=headers, params=i.get("query") or None,
                              follow_redirects=bool(i.get("follow_redirects")), timeout=float(i.get("timeout") or 30),
                              **kwargs)
    except errors.StepError as exc:
        exc.request = request
        raise
    parsed = decode_body(resp.content, resp.headers.get("content-type", ""))
    response = {"status": resp.status, "headers": dict(resp.headers), "body": parsed}
    output = {"status": resp.status, "headers": dict(resp.headers), "body": parsed}
    if resp.status >= 400 and i.get("fail_on_http_error", True) not in (False, "false", "0", 0):
        detail = errors.body_message(parsed)
        raise error_for_status(resp.status, f"{method} {resp.url} answered HTTP {resp.status}"
                               + (f": {detail}" if detail else ""),
                               retry_after=retry_after_seconds(resp.headers), request=request, response=response)
    return Result(output=output, request=request, response=response)
