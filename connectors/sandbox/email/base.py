"""The shared machinery of the email sandboxes: accounts and keys, a route table per app, one
dispatch view (log -> auth -> rate limit -> handler -> webhooks), the app's own error bodies.

    from connectors.sandbox.email.base import create_account
    account, creds = create_account("mailersend")   # seeded; creds = {"api_key": ...} (or SendPulse id/secret)
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import time
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .. import store
from ..models import SandboxLocation, SandboxRecord, SandboxRequest, SandboxToken

log = logging.getLogger(__name__)
APPS = ("mailersend", "mailerlite", "sendpulse", "mailercloud")
# (requests, seconds) per account; settings.SANDBOX_EMAIL_RATE overrides (tests use small numbers).
RATE = {"mailersend": (60, 60), "mailerlite": (120, 60), "sendpulse": (10, 1), "mailercloud": (120, 60)}


class Fail(Exception):
    """An API error: `body` is already in the app's documented error shape."""

    def __init__(self, status: int, body, headers: dict | None = None):
        super().__init__(str(body))
        self.status, self.body, self.headers = status, body, headers or {}


@dataclass
class Req:
    account: SandboxLocation | None
    method: str
    path: str
    params: dict
    query: dict
    body: object
    headers: object
    raw: bytes = b""
    events: list = field(default_factory=list)  # (url, raw body, headers) to deliver after commit

    def q(self, name, default=None, cast=None):
        value = self.query.get(name)
        if value in (None, ""):
            return default
        return cast(value) if cast else value

    def b(self, name, default=None):
        return self.body.get(name, default) if isinstance(self.body, dict) else default


@dataclass
class Route:
    method: str
    pattern: str
    handler: object
    auth: bool = True

    def match(self, method: str, path: str):
        if method != self.method:
            return None
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.pattern.rstrip("/")) + "/?$"
        m = re.match(regex, path)
        return m.groupdict() if m else None


# --- accounts ---------------------------------------------------------------------------------------

def create_account(app: str, name: str = "", seed: bool = True) -> tuple[SandboxLocation, dict]:
    """A new sandbox account of `app` with its credentials (and demo data unless `seed=False`)."""
    with transaction.atomic():
        account = SandboxLocation.objects.create(name=name or f"{app.capitalize()} sandbox", company_id=app)
        key = SandboxToken.objects.create(token=f"{app[:4]}-sbx-{secrets.token_hex(16)}", location=account,
                                          scopes=[], label=app)
        creds = {"api_key": key.token}
        if app == "sendpulse":
            client_id, client_secret = secrets.token_hex(16), secrets.token_hex(16)
            store.put(account, "sp_client", {"client_secret": client_secret}, record_id=client_id)
            creds = {"client_id": client_id, "client_secret": client_secret}
        if seed:
            module(app).seed(account)
    return account, creds


def module(app: str):
    from importlib import import_module

    return import_module(f"{__package__}.{app}")


def account_for_key(app: str, key: str) -> SandboxLocation | None:
    tok = SandboxToken.objects.select_related("location").filter(token=key, label=app).first() if key else None
    return tok.location if tok else None


def accounts(app: str):
    return SandboxLocation.objects.filter(company_id=app)


# --- records ---------------------------------------------------------------------------------------

def next_id(account, kind: str, start: int = 1000) -> str:
    """Integer-looking ids (MailerLite, SendPulse) that grow per account and kind."""
    counter = f"counter:{kind}"
    rec = store.get(account, "counter", counter)
    value = (rec.data.get("value") if rec else start) + 1
    if rec:
        store.update(rec, {"value": value}, stamp=None)
    else:
        store.put(account, "counter", {"value": value}, record_id=counter)
    return str(value)


def hex_id(n: int = 24) -> str:
    return secrets.token_hex(n // 2)


def find(account, kind: str, record_id: str, fail: Fail) -> SandboxRecord:
    rec = store.get(account, kind, str(record_id))
    if rec is None:
        raise fail
    return rec


def first(account, kind: str, **match) -> SandboxRecord | None:
    for rec in store.records(account, kind):
        if all(rec.data.get(k) == v for k, v in match.items()):
            return rec
    return None


def page(items: list, offset: int, limit: int) -> list:
    return items[max(0, offset):max(0, offset) + max(0, limit)]


# --- rate limits --------------------------------------------------------------------------------------

def consume(app: str, account_id: str) -> tuple[int, int, int, bool]:
    """Count one request: (limit, remaining, seconds to reset, over)."""
    limit, window = (getattr(settings, "SANDBOX_EMAIL_RATE", None) or {}).get(app) or RATE[app]
    now = time.time()
    slot = int(now // window)
    key = f"sbx-email:{app}:{account_id}:{slot}"
    if not cache.add(key, 1, window + 2):
        try:
            used = cache.incr(key)
        except ValueError:
            cache.set(key, 1, window + 2)
            used = 1
    else:
        used = 1
    reset = max(1, int((slot + 1) * window - now) + 1)
    return limit, max(limit - used, 0), reset, used > limit


# --- outgoing webhooks ------------------------------------------------------------------------------

def deliver(account, app: str, url: str, raw: bytes, headers: dict, event: str) -> int | None:
    """POST one webhook body and record the attempt as a SandboxEvent."""
    from ..models import SandboxEvent

    status, error = None, ""
    try:
        status = httpx.post(url, content=raw, headers={"Content-Type": "application/json",
                                                       "User-Agent": f"{app}-sandbox/1.0", **headers},
                            timeout=5.0).status_code
    except httpx.HTTPError as exc:
        error = str(exc)[:300] or type(exc).__name__
    SandboxEvent.objects.create(location=account, event_type=event, webhook_id=hex_id(16),
                                payload=json.loads(raw), url=url[:500], status=status, error=error)
    return status


# --- the view --------------------------------------------------------------------------------------------

def _response(status: int, body, headers: dict) -> HttpResponse:
    if body is None or status == 204:
        resp = HttpResponse(status=status)
    else:
        resp = JsonResponse(body, status=status, safe=False)
    for k, v in headers.items():
        resp[k] = str(v)
    return resp


def dispatch(app: str, request, path: str) -> HttpResponse:
    mod = module(app)
    path = "/" + path.strip("/")
    record = {"account": None, "brief": ""}
    try:
        resp = _handle(app, mod, request, path, record)
    except Exception:
        log.exception("email sandbox %s failed for %s %s", app, request.method, path)
        resp = JsonResponse(mod.error(500, "Server Error"), status=500, safe=False)
    SandboxRequest.objects.create(location=record["account"], method=request.method,
                                  path=request.get_full_path()[:500], status=resp.status_code, brief=record["brief"][:300])
    return resp


def _handle(app, mod, request, path, record) -> HttpResponse:
    headers: dict = {}
    try:
        route, params = next(((r, p) for r in mod.ROUTES for p in [r.match(request.method, path)] if p is not None),
                             (None, None))
        if route is None:
            raise Fail(404, mod.error(404, f"Endpoint {request.method} {path} not found"))
        try:
            body = json.loads(request.body) if request.body.strip() else None
        except ValueError:
            raise Fail(400, mod.error(400, "The body is not valid JSON")) from None
        query = {k: (v[0] if len(v) == 1 else v) for k, v in request.GET.lists()}
        req = Req(None, request.method, path, params, query, body, request.headers, request.body)
        if route.auth:
            req.account = mod.authenticate(request.headers)
            record["account"] = req.account
            limit, remaining, reset, over = consume(app, req.account.id)
            headers = mod.limit_headers(limit, remaining, reset)
            if over:
                raise Fail(429, mod.error(429, "Too many requests"), {**headers, **mod.retry_headers(reset)})
        with transaction.atomic():
            result = route.handler(req)
        status, body, extra = (result + ({},))[:3] if isinstance(result, tuple) else (200, result, {})
        for url, raw, hook_headers, event in req.events:
            deliver(req.account, app, url, raw, hook_headers, event)
        record["brief"] = f"{request.method} {route.pattern}"
        return _response(status, body, {**headers, **extra})
    except Fail as err:
        record["brief"] = json.dumps(err.body)[:300]
        return _response(err.status, err.body, {**headers, **err.headers})


def view(app: str):
    @csrf_exempt
    def api(request, path: str = ""):
        return dispatch(app, request, path)

    api.__name__ = f"{app}_api"
    return api


def put_doc(account, kind: str, doc: dict, parent: str = "") -> dict:
    """Store `doc` as is (its `id` keeps its type: MailerLite and SendPulse ids are integers)."""
    return SandboxRecord.objects.create(location=account, kind=kind, record_id=str(doc["id"]), parent_id=parent,
                                        data=store.clean(doc)).data
