"""Shared pieces of the email-marketing connectors: param factories, the operation factory, auth
styles, error-body parsers and the few composition handlers.

Everything HTTP goes through the one executor (`connectors.executor.execute`); what lives here is
named, unit-tested behaviour the declarations point at by dotted path:

- auth styles (`App.auth_hook`): `bearer`, `mailerlite_key`/`mailercloud_key` (header keys), and
  `sendpulse_token` (OAuth client credentials: token cached in the connection's secrets, fetched
  once per process at a time, stored under `credentials.refresh_lock()`, refreshed once on a 401
  by `run_with_refresh`);
- error parsers (`App.error_hook`): one sentence out of each app's documented error body;
- composition handlers (`Operation.handler`): `run` applies a named pre/post transform around the
  executor (`extra["pre"]`, `extra["post"]`), `custom_call` is the per-app "custom API call".
"""
from __future__ import annotations

import base64
import dataclasses
import threading
import time
from datetime import datetime, timedelta, timezone

from .. import errors
from ..context import Result, StepContext
from ..spec import ACTION, BODY, PATH, QUERY, SEARCH, TRIGGER, Operation, Pagination, Param, Poll

H = "connectors.email_apps.common."

# --- param factories ----------------------------------------------------------------------------


def P(name, where=BODY, type="string", **kw) -> Param:
    return Param(name, location=where, type=type, **kw)


def req(name, where=BODY, type="string", **kw) -> Param:
    return Param(name, location=where, type=type, required=True, **kw)


def path(name, label="", **kw) -> Param:
    return Param(name, location=PATH, required=True, label=label, **kw)


def query(name, type="string", **kw) -> Param:
    return Param(name, location=QUERY, type=type, **kw)


EMAIL = req("email", label="Email address")


def op(app: str, key: str, kind: str, label: str, method: str = "GET", url: str = "", *params: Param,
       **kw) -> Operation:
    """`Operation` with the app-prefixed key, and GET/PUT/DELETE marked idempotent."""
    kw.setdefault("idempotent", method in ("GET", "PUT", "DELETE") and kind != TRIGGER)
    extra = kw.get("extra") or {}
    if app == "sendpulse" or {"pre", "post", "fixed", "unconfirmed"} & set(extra):
        kw.setdefault("handler", H + "run")
    kw.setdefault("category", "Triggers" if kind == TRIGGER else "")
    return Operation(key=f"{app}.{key}", app=app, kind=kind, label=label, method=method, path=url,
                     params=tuple(params), **kw)


def custom_call(app: str, note: str = "") -> Operation:
    """The per-app escape hatch: any method and path of the app's API, with the connection's auth."""
    return Operation(
        key=f"{app}.custom_api_call", app=app, kind=ACTION, label="Custom API call", category="Advanced",
        description="Call any endpoint of the API with this connection's authentication. " + note,
        handler=H + "custom_call_handler",
        params=(req("method", enum=("GET", "POST", "PUT", "PATCH", "DELETE"), default="GET"),
                req("path", label="Path", description="Relative to the API base, e.g. /groups"),
                P("query", type="object", label="Query parameters"),
                P("body", type="object", label="JSON body (object or list)")))


# --- auth styles (App.auth_hook: `hook(app, credentials, headers, force_refresh)`) ---------------

from ..auth import api_key_header  # noqa: E402

mailerlite_key = api_key_header("X-MailerLite-ApiKey")  # [C]
mailercloud_key = api_key_header("Authorization")  # the raw key, no "Bearer" [C]


def bearer(app, credentials, headers: dict, force_refresh: bool = False) -> None:
    key = credentials.secrets().get("api_key") if credentials is not None else None
    if not key:
        raise errors.StepError(errors.AUTH, f"The {app.label} connection has no API key.", retryable=False)
    headers["Authorization"] = f"Bearer {key}"


def sendpulse_token(app, credentials, headers: dict, force_refresh: bool = False) -> None:
    failed = credentials.secrets().get("access_token") if force_refresh and credentials is not None else None
    headers["Authorization"] = f"Bearer {sendpulse_access_token(app, credentials, failed=failed)}"


# --- SendPulse client credentials -------------------------------------------------------------

TOKEN_MARGIN = 300  # refresh 5 minutes before the documented 3600 s lifetime ends


def base_url(app, credentials) -> str:
    config = getattr(credentials, "config", None) or {}
    return (config.get("base_url") or app.base_url).rstrip("/")


def sendpulse_access_token(app, credentials, failed: str | None = None) -> str:
    """A valid SendPulse access token: the cached one, or a new one from `/oauth/access_token`.
    `failed` is a token the API just answered 401 to: it is never handed out again. A "Single API
    key" connection (`api_key` secret, no client id) is used as the bearer token directly [S]."""
    if credentials is None:
        raise errors.StepError(errors.AUTH, "Connect a SendPulse account first.", retryable=False)

    def usable(s):
        token = s.get("access_token")
        return token if token and token != failed and float(s.get("expires_at") or 0) > time.time() + TOKEN_MARGIN else None

    s = credentials.secrets()
    if s.get("api_key") and not s.get("client_id"):
        return s["api_key"]
    if usable(s):
        return s["access_token"]
    # Single flight per process; the token request itself holds no database lock (on SQLite a held
    # write transaction would block every writer, the sandbox's token endpoint included).
    with _fetch_locks.setdefault(credentials.id, threading.Lock()):
        credentials_fresh = _reread(credentials)
        if usable(credentials_fresh):
            return credentials_fresh["access_token"]
        token, lifetime = _fetch_token(app, credentials, credentials_fresh)
        with credentials.refresh_lock():  # only the write is under the row lock
            credentials.update_secrets({"access_token": token, "expires_at": time.time() + lifetime})
        return token


_fetch_locks: dict = {}


def _reread(credentials) -> dict:
    refresh = getattr(credentials, "refresh_from_db", None)
    if refresh is not None:
        refresh(fields=["secret_blob"])
    return credentials.secrets()


def _fetch_token(app, credentials, s) -> tuple[str, float]:
    from ..safehttp import get_client

    if not (s.get("client_id") and s.get("client_secret")):
        raise errors.StepError(errors.AUTH, "The SendPulse connection needs an API ID and secret.", retryable=False)
    url = base_url(app, credentials) + "/oauth/access_token"
    body = {"grant_type": "client_credentials", "client_id": s["client_id"], "client_secret": s["client_secret"]}
    resp = get_client().request("POST", url, json=body, headers={"Accept": "application/json"}, timeout=30)
    data = _json(resp)
    if resp.status >= 400 or not isinstance(data, dict) or not data.get("access_token"):
        message = sendpulse_error(resp.status, data) if isinstance(data, dict) else f"HTTP {resp.status}"
        if resp.status in (400, 401, 403):
            credentials.mark_needs_reauth(f"SendPulse refused the API ID/secret: {message}")
            raise errors.StepError(errors.AUTH, f"SendPulse token request failed: {message}", retryable=False)
        raise errors.StepError(errors.UPSTREAM, f"SendPulse token request failed: {message}")
    return data["access_token"], float(data.get("expires_in") or 3600)


def _json(resp):
    import json

    try:
        return json.loads(resp.content or b"null")
    except ValueError:
        return None


# --- error bodies (App.error_hook) --------------------------------------------------------------

def _first_field_error(errs) -> str:
    if isinstance(errs, dict):
        for field, msgs in errs.items():
            msg = msgs[0] if isinstance(msgs, list) and msgs else msgs
            return f"{field}: {msg}"
    if isinstance(errs, list) and errs:
        e = errs[0]
        return e.get("message") or e.get("msg") or str(e) if isinstance(e, dict) else str(e)
    return str(errs) if errs else ""


def mailersend_error(status, body=None) -> str:
    """`{"message": "...", "errors": {"field": ["..."]}}` [C]."""
    if not isinstance(body, dict):
        return str(body or "")[:300]
    detail = _first_field_error(body.get("errors"))
    msg = body.get("message") or ""
    return f"{msg} ({detail})" if detail and detail not in msg else msg or detail


def mailerlite_error(status, body=None) -> str:
    """`{"error": {"code": N, "message": "..."}}` [C]."""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return f"{err.get('message')} (code {err.get('code')})"
    return str(body or "")[:300]


def sendpulse_error(status, body=None) -> str:
    """Legacy `{"is_error": 1, "message", "error_code"}` [S], OAuth `{"error", "error_description"}`,
    or v2 `{"success": false, "errors": ...}`."""
    if not isinstance(body, dict):
        return str(body or "")[:300]
    if body.get("error_description") or isinstance(body.get("error"), str):
        return f"{body.get('error')}: {body.get('error_description') or ''}".strip(": ")
    msg = body.get("message") or _first_field_error(body.get("errors")) or str(body)[:300]
    return f"{msg} (error_code {body['error_code']})" if body.get("error_code") is not None else msg


def mailercloud_error(status, body=None) -> str:
    """`{"errors": ...}` or `{"message": "..."}`, as the official plugin parses them [C]."""
    if not isinstance(body, dict):
        return str(body or "")[:300]
    return _first_field_error(body.get("errors")) or body.get("message") or str(body)[:300]


# --- composition handlers -----------------------------------------------------------------------

def _execute(op: Operation, ctx: StepContext) -> Result:
    from ..executor import execute

    return execute(dataclasses.replace(op, handler=None), ctx)


def _named(name: str):
    from django.utils.module_loading import import_string

    return import_string(name if "." in name else H + name)


def run(op: Operation, ctx: StepContext) -> Result:
    """Run a declared HTTP operation through the executor with its named transforms:
    `extra["fixed"]` (inputs always sent, e.g. `type=unsubscribed`), `extra["pre"](inputs, ctx)`,
    `extra["post"](result, ctx)`; a connection may override an unconfirmed path
    (`config["paths"][op.key]`); SendPulse operations get the documented refresh-once-on-401."""
    config = getattr(ctx.credentials, "config", None) or {}
    override = (config.get("paths") or {}).get(op.key)
    if override:
        op = dataclasses.replace(op, path=str(override))
    inputs = {**dict(ctx.inputs), **op.extra.get("fixed", {})}
    if op.extra.get("pre"):
        inputs = _named(op.extra["pre"])(inputs, ctx)
        # params the transform consumed (friendly inputs) are not sent
        op = dataclasses.replace(op, params=tuple(p for p in op.params if p.name in inputs or p.location == PATH))
    result = run_with_refresh(op, dataclasses.replace(ctx, inputs=inputs))
    return _named(op.extra["post"])(result, ctx) if op.extra.get("post") else result


def run_with_refresh(op: Operation, ctx: StepContext) -> Result:
    try:
        return _execute(op, ctx)
    except errors.StepError as exc:
        status = (exc.response or {}).get("status")
        if op.app != "sendpulse" or exc.category != errors.AUTH or status != 401 or ctx.credentials is None:
            raise
        s = ctx.credentials.secrets()
        if not s.get("client_id"):
            raise
        from ..registry import get_app

        sendpulse_access_token(get_app("sendpulse"), ctx.credentials, failed=s.get("access_token"))
        return _execute(op, ctx)


def custom_call_handler(op: Operation, ctx: StepContext) -> Result:
    """Build a one-off declaration from the inputs and hand it to the executor, so auth, rate limits,
    error parsing and SSRF rules are the same as for every declared operation."""
    i = ctx.inputs
    url = "/" + str(i.get("path") or "").lstrip("/")
    if "://" in url or ".." in url.split("?")[0].split("/"):
        raise errors.StepError(errors.VALIDATION, "The path must be relative to the API base URL.", retryable=False)
    q = i.get("query") or {}
    body = i.get("body")
    params = tuple(Param(k, location=QUERY) for k in q)
    inputs = dict(q)
    if isinstance(body, dict):
        params += tuple(Param(k, location=BODY, type="object") for k in body)
        inputs.update(body)
    elif body is not None:  # a JSON array body (e.g. MailerSend bulk-email)
        params += (Param("_body", location=BODY, type="array", body_path="."),)
        inputs["_body"] = body
    method = str(i.get("method") or "GET").upper()
    one_off = dataclasses.replace(op, method=method, path=url, params=params, handler=None,
                                  body_type="json" if body is not None else "none", idempotent=method == "GET")
    return run_with_refresh(one_off, dataclasses.replace(ctx, inputs=inputs))


# --- small transforms used by several apps ----------------------------------------------------

def emails_list(value) -> list:
    if isinstance(value, str):
        return [e.strip() for e in value.replace(";", ",").replace("\n", ",").split(",") if e.strip()]
    return [str(e).strip() for e in value or [] if str(e).strip()]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def unix_window(days: float = 1.0, now: datetime | None = None) -> tuple[int, int]:
    now = now or datetime.now(timezone.utc)
    return int((now - timedelta(days=days)).timestamp()), int(now.timestamp())


__all__ = ["P", "req", "path", "query", "op", "custom_call", "EMAIL", "Pagination", "Poll", "ACTION", "SEARCH",
           "TRIGGER", "BODY", "QUERY", "PATH", "H"]
