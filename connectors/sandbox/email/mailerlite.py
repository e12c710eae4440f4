"""MailerLite Classic sandbox (email-apis.md section 2): `X-MailerLite-ApiKey`, integer ids, plain
JSON arrays paged by limit/offset, `{"error": {"code", "message"}}` bodies, one-event webhooks sent
as `{"events": [...]}` with an `X-MailerLite-Signature` (base64 HMAC-SHA256 keyed with the API key)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timezone

from .. import store
from ..models import SandboxToken
from .base import Fail, Route, account_for_key, find, first, next_id, put_doc

DEFAULT_FIELDS = [("email", "TEXT"), ("name", "TEXT"), ("last_name", "TEXT"), ("company", "TEXT"),
                  ("country", "TEXT"), ("city", "TEXT"), ("phone", "TEXT"), ("state", "TEXT"), ("zip", "TEXT")]


def error(status: int, message: str, code: int | None = None):
    return {"error": {"code": code or status, "message": message}}


def authenticate(headers):
    key = headers.get("X-MailerLite-ApiKey", "")
    if not key:
        raise Fail(401, error(401, "Unauthorized", 1))
    account = account_for_key("mailerlite", key)
    if account is None:
        raise Fail(401, error(401, "API-Key Unauthorized", 302))
    return account


def limit_headers(limit, remaining, reset):
    return {"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": remaining}


def retry_headers(reset):
    return {"Retry-After": reset}


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def seed(account):
    for key, kind in DEFAULT_FIELDS:
        store.put(account, "ml_field", {"field_id": int(next_id(account, "ml_field", 0)), "key": key,
                                        "title": key.replace("_", " ").title(), "type": kind, "date_created": now(),
                                        "date_updated": now()}, record_id=key)
    _put_group(account, "Newsletter")


def _group_doc(account, name):
    gid = int(next_id(account, "ml_group", 100_000))
    return {"id": gid, "name": name, "total": 0, "active": 0, "unsubscribed": 0, "bounced": 0, "unconfirmed": 0,
            "junk": 0, "sent": 0, "opened": 0, "clicked": 0, "date_created": now(), "date_updated": now()}


def _put_group(account, name):
    doc = _group_doc(account, name)
    return put_doc(account, "ml_group", doc)


def _out(doc):
    return {k: v for k, v in doc.items() if k not in ("locationId", "groups")}


def _paged(req, docs):
    return [_out(d) for d in docs[req.q("offset", 0, int):req.q("offset", 0, int) + req.q("limit", 100, int)]]


def _subscriber(account, who: str):
    rec = store.get(account, "ml_sub", str(who)) if str(who).isdigit() else first(account, "ml_sub", email=str(who).lower())
    if rec is None:
        raise Fail(404, error(404, "Subscriber not found", 123))
    return rec


def _fields(account, doc: dict, values: dict | None) -> list:
    current = {f["key"]: f["value"] for f in doc.get("fields") or []}
    current.update({"email": doc["email"], "name": doc.get("name", "")})
    for key, value in (values or {}).items():
        if store.get(account, "ml_field", key) is None:
            raise Fail(400, error(400, f"Field '{key}' does not exist", 123))
        current[key] = value
    types = {d["key"]: d["type"] for d in store.docs(account, "ml_field")}
    return [{"key": k, "value": v, "type": types.get(k, "TEXT")} for k, v in current.items()]


def _emit(req, event: str, doc: dict, group: dict | None = None):
    key = SandboxToken.objects.filter(location=req.account, label="mailerlite").values_list("token", flat=True).first()
    for hook in store.docs(req.account, "ml_webhook", event=event):
        data = {"subscriber": _out(doc), **({"group": group} if group else {})}
        raw = json.dumps({"events": [{"account_id": 334443, "data": data, "timestamp": int(time.time()),
                                      "type": event, "webhook_id": hook["id"]}]}, separators=(",", ":")).encode()
        sig = base64.b64encode(hmac.new(key.encode(), raw, hashlib.sha256).digest()).decode()
        req.events.append((hook["url"], raw, {"X-MailerLite-Signature": sig}, event))


def upsert(req, group=None):
    email = str(req.b("email") or "").strip().lower()
    if "@" not in email:
        raise Fail(400, error(400, "Invalid email address", 123))
    rec = first(req.account, "ml_sub", email=email)
    kind = req.b("type") or ("active" if rec is None else rec.data["type"])
    if req.b("resubscribe") and rec is not None:
        kind = "active"
    if rec is None:
        sid = int(next_id(req.account, "ml_sub", 2_300_951_000))
        doc = {"id": sid, "email": email, "name": req.b("name", ""), "type": kind, "sent": 0, "opened": 0, "clicked": 0,
               "date_created": now(), "date_subscribe": now() if kind == "active" else None, "date_unsubscribe": None,
               "date_updated": None, "groups": []}
        doc["fields"] = _fields(req.account, doc, req.b("fields"))
        put_doc(req.account, "ml_sub", doc)
        rec = store.get(req.account, "ml_sub", str(sid))
        _emit(req, "subscriber.create", rec.data)
    else:
        changes = {"name": req.b("name") or rec.data.get("name"), "type": kind, "date_updated": now()}
        changes["fields"] = _fields(req.account, {**rec.data, **changes}, req.b("fields"))
        store.update(rec, changes, stamp=None)
        _emit(req, "subscriber.update", rec.data)
    if group is not None and group["id"] not in rec.data["groups"]:
        store.update(rec, {"groups": rec.data["groups"] + [group["id"]]}, stamp=None)
        _emit(req, "subscriber.add_to_group", rec.data, group)
    return _out(rec.data)


def list_subscribers(req):
    docs = store.docs(req.account, "ml_sub")
    return _paged(req, [d for d in docs if not req.q("type") or d["type"] == req.q("type")])


def get_subscriber(req):
    return _out(_subscriber(req.account, req.params["who"]).data)


def update_subscriber(req):
    rec = _subscriber(req.account, req.params["who"])
    changes = {k: req.b(k) for k in ("name", "type") if req.b(k) is not None}
    if changes.get("type") not in (None, "active", "unsubscribed"):
        raise Fail(400, error(400, "Type must be active or unsubscribed", 123))
    changes["fields"] = _fields(req.account, {**rec.data, **changes}, req.b("fields"))
    if changes.get("type") == "unsubscribed" and rec.data["type"] != "unsubscribed":
        changes["date_unsubscribe"] = now()
    store.update(rec, {**changes, "date_updated": now()}, stamp=None)
    _emit(req, "subscriber.unsubscribe" if changes.get("type") == "unsubscribed" else "subscriber.update", rec.data)
    return _out(rec.data)


def search(req):
    q = str(req.q("query", "")).lower()
    docs = [d for d in store.docs(req.account, "ml_sub")
            if q in d["email"] or any(q and q in str(f["value"]).lower() for f in d.get("fields") or [])]
    return _paged(req, docs)


def count(req):
    return {"count": len(store.docs(req.account, "ml_sub"))}


def _group(req):
    return find(req.account, "ml_group", req.params["group_id"], Fail(404, error(404, "Group not found", 123)))


def _with_counts(req, doc):
    members = [d for d in store.docs(req.account, "ml_sub") if doc["id"] in d.get("groups", [])]
    return {**_out(doc), "total": len(members), "active": sum(m["type"] == "active" for m in members),
            "unsubscribed": sum(m["type"] == "unsubscribed" for m in members)}


def list_groups(req):
    return [_with_counts(req, d) for d in store.docs(req.account, "ml_group")][
        req.q("offset", 0, int):req.q("offset", 0, int) + req.q("limit", 100, int)]


def create_group(req):
    if not req.b("name"):
        raise Fail(400, error(400, "Name is required", 123))
    return 201, _out(_put_group(req.account, req.b("name")))


def add_to_group(req):
    return upsert(req, group=_group(req).data)


def remove_from_group(req):
    group = _group(req).data
    rec = _subscriber(req.account, req.params["who"])
    if group["id"] in rec.data.get("groups", []):
        store.update(rec, {"groups": [g for g in rec.data["groups"] if g != group["id"]]}, stamp=None)
        _emit(req, "subscriber.remove_from_group", rec.data, group)
    return 204, None


def group_subscribers(req):
    gid = _group(req).data["id"]
    return _paged(req, [d for d in store.docs(req.account, "ml_sub") if gid in d.get("groups", [])])


def _field(doc):
    return {"id": doc["field_id"], **{k: v for k, v in _out(doc).items() if k not in ("id", "field_id")}}


def list_fields(req):
    return [_field(d) for d in store.docs(req.account, "ml_field")]


def create_field(req):
    title = str(req.b("title") or "").strip()
    if not title or req.b("type", "TEXT") not in ("TEXT", "NUMBER", "DATE"):
        raise Fail(400, error(400, "Title is required and type must be TEXT, NUMBER or DATE", 123))
    key = title.lower().replace(" ", "_")
    doc = {"field_id": int(next_id(req.account, "ml_field", 0)), "key": key, "title": title,
           "type": req.b("type", "TEXT"), "date_created": now(), "date_updated": now()}
    return 201, _field(store.put(req.account, "ml_field", doc, record_id=key).data)


def list_webhooks(req):
    hooks = [_out(d) for d in store.docs(req.account, "ml_webhook")]
    return {"webhooks": hooks, "count": len(hooks), "limit": 100, "start": 0}


def create_webhook(req):
    from connectors.email_apps.mailerlite import EVENTS

    if not str(req.b("url") or "").startswith(("http://", "https://")) or req.b("event") not in EVENTS:
        raise Fail(400, error(400, "A valid url and one supported event are required", 123))
    doc = {"id": int(next_id(req.account, "ml_webhook", 0)), "url": req.b("url"), "event": req.b("event"),
           "date_created": now(), "date_updated": now()}
    return 201, _out(put_doc(req.account, "ml_webhook", doc))


def delete_webhook(req):
    store.delete(find(req.account, "ml_webhook", req.params["id"], Fail(404, error(404, "Webhook not found", 123))))
    return 204, None


def me(req):
    return {"account": {"id": 334443, "name": req.account.name, "subdomain": "sandbox"}}


ROUTES = [
    Route("GET", "/", me), Route("GET", "/me", me),
    Route("POST", "/subscribers", upsert), Route("GET", "/subscribers", list_subscribers),
    Route("GET", "/subscribers/search", search), Route("GET", "/subscribers/count", count),
    Route("GET", "/subscribers/{who}", get_subscriber), Route("PUT", "/subscribers/{who}", update_subscriber),
    Route("GET", "/groups", list_groups), Route("POST", "/groups", create_group),
    Route("POST", "/groups/{group_id}/subscribers", add_to_group),
    Route("GET", "/groups/{group_id}/subscribers", group_subscribers),
    Route("DELETE", "/groups/{group_id}/subscribers/{who}", remove_from_group),
    Route("GET", "/fields", list_fields), Route("POST", "/fields", create_field),
    Route("GET", "/webhooks", list_webhooks), Route("POST", "/webhooks", create_webhook),
    Route("DELETE", "/webhooks/{id}", delete_webhook),
]
