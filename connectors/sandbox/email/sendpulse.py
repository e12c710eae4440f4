"""SendPulse sandbox (email-apis.md section 3): OAuth client credentials at /oauth/access_token
(tokens live `SANDBOX_SENDPULSE_TOKEN_TTL` seconds, default 3600), address books, subscribers with
variables, the base64 blacklist, /smtp/emails (base64 HTML), v2 webhooks delivered as unsigned
JSON arrays, 10 requests per second."""
from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from datetime import datetime, timezone

from django.conf import settings

from .. import store
from ..models import SandboxRecord
from .base import Fail, Route, account_for_key, find, first, next_id, page, put_doc

SENDER = "hello@brightside.test"


def error(status: int, message: str, code: int | None = None):
    return {"is_error": True, "message": message, "error_code": code or status}


def _now_ts() -> str:
    return str(int(time.time()))


def authenticate(headers):
    auth = headers.get("Authorization", "")
    token = auth[7:].strip() if auth.startswith("Bearer ") else ""
    rec = SandboxRecord.objects.select_related("location").filter(kind="sp_token", record_id=token[:40]).first() if token else None
    if rec is not None and rec.data.get("expires_at", 0) > time.time():
        return rec.location
    account = account_for_key("sendpulse", token)  # a "Single API key"
    if account is None:
        raise Fail(401, {"error": "invalid_token", "error_description": "The access token is invalid or has expired",
                         "http_code": 401})
    return account


def limit_headers(limit, remaining, reset):
    return {}  # SendPulse documents no rate-limit headers


def retry_headers(reset):
    return {}


def seed(account):
    store.put(account, "sp_sender", {"email": SENDER, "name": "Brightside", "status": "Active"}, record_id="sender-1")
    _book(account, "Newsletter")


def _book(account, name):
    bid = int(next_id(account, "sp_book", 490_000))
    return put_doc(account, "sp_book", {"id": bid, "name": name, "all_email_qty": 0, "active_email_qty": 0,
                                          "inactive_email_qty": 0, "creationdate": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
                                          "status": 0, "status_explain": "Active"})


def token(req):
    b = req.body if isinstance(req.body, dict) else {}
    client = SandboxRecord.objects.select_related("location").filter(kind="sp_client", record_id=str(b.get("client_id") or "")).first()
    if b.get("grant_type") != "client_credentials" or client is None or client.data["client_secret"] != b.get("client_secret"):
        raise Fail(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
    ttl = int(getattr(settings, "SANDBOX_SENDPULSE_TOKEN_TTL", 3600))
    value = secrets.token_hex(20)
    store.put(client.location, "sp_token", {"expires_at": time.time() + ttl}, record_id=value)
    return {"access_token": value, "token_type": "Bearer", "expires_in": ttl}


def _out(doc):
    return {k: v for k, v in doc.items() if k not in ("locationId", "id_", "book_id", "created_ts")}


def _get_book(req):
    return find(req.account, "sp_book", req.params["book_id"], Fail(400, error(400, "Book not found", 213)))


def _members(req, book_id):
    return store.records(req.account, "sp_email", parent=str(book_id))


def _counts(req, doc):
    members = [r.data for r in _members(req, doc["id"])]
    active = sum(m["status"] == 1 for m in members)
    return {**_out(doc), "all_email_qty": len(members), "active_email_qty": active,
            "inactive_email_qty": len(members) - active}


def books(req):
    docs = [_counts(req, d) for d in store.docs(req.account, "sp_book")]
    return page(docs, req.q("offset", 0, int), min(req.q("limit", 100, int), 100))


def book(req):
    return [_counts(req, _get_book(req).data)]


def create_book(req):
    if not req.b("bookName"):
        raise Fail(400, error(400, "Book name is empty", 203))
    return {"id": _book(req.account, req.b("bookName"))["id"]}


def _emit(req, event: str, email: str, book_id, extra: dict | None = None):
    for hook in store.docs(req.account, "sp_webhook", action=event):
        raw = json.dumps([{"task_id": "", "timestamp": _now_ts(), "email": email, "book_id": str(book_id),
                           "event": event, **(extra or {})}], separators=(",", ":")).encode()
        req.events.append((hook["url"], raw, {}, event))


def add_emails(req):
    bid = _get_book(req).data["id"]
    emails = req.b("emails")
    if not isinstance(emails, list) or not emails:
        raise Fail(400, error(400, "Empty emails list", 213))
    for item in emails:
        item = item if isinstance(item, dict) else {"email": item}
        addr = str(item.get("email") or "").strip().lower()
        if "@" not in addr:
            raise Fail(400, error(400, f"Invalid email {addr!r}", 502))
        variables = item.get("variables") or {}
        rec = first(req.account, "sp_email", email=addr, book_id=bid)
        if rec:
            store.update(rec, {"variables": {**rec.data.get("variables", {}), **variables}}, stamp=None)
        else:
            store.put(req.account, "sp_email", {"email": addr, "phone": variables.get("phone"), "status": 1,
                                                "status_explain": "Active", "variables": variables, "book_id": bid},
                      parent=str(bid), record_id=secrets.token_hex(12))
            _emit(req, "new_emails", addr, bid, {"variables": variables})
    return {"result": True}


def list_emails(req):
    bid = _get_book(req).data["id"]
    docs = [_out(r.data) for r in _members(req, bid)]
    return page(docs, req.q("offset", 0, int), min(req.q("limit", 100, int), 100))


def total(req):
    return {"total": _members(req, _get_book(req).data["id"]).count()}


def _member(req):
    bid = _get_book(req).data["id"]
    rec = first(req.account, "sp_email", email=req.params["email"].lower(), book_id=bid)
    if rec is None:
        raise Fail(404, error(404, "Email not found", 1004))
    return rec


def get_email(req):
    return _out(_member(req).data)


def set_variables(req):
    req.params["email"] = str(req.b("email") or "")
    rec = _member(req)
    vs = req.b("variables")
    if not isinstance(vs, list) or not all(isinstance(v, dict) and "name" in v for v in vs):
        raise Fail(400, error(400, "variables must be a list of {name, value}", 1003))
    store.update(rec, {"variables": {**rec.data.get("variables", {}), **{v["name"]: v.get("value") for v in vs}}}, stamp=None)
    return {"result": True}


def delete_emails(req):
    bid = _get_book(req).data["id"]
    emails = req.b("emails")
    if not isinstance(emails, list) or not emails or len(emails) > 100:
        raise Fail(400, error(400, "Give 1 to 100 emails", 213))
    for addr in emails:
        rec = first(req.account, "sp_email", email=str(addr).lower(), book_id=bid)
        if rec:
            rec.delete()
            _emit(req, "delete", str(addr).lower(), bid)
    return {"result": True}


def _b64_emails(req) -> list:
    try:
        text = base64.b64decode(str(req.b("emails") or ""), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Fail(400, error(400, "emails must be a base64 string of comma-separated addresses", 502)) from None
    return [e.strip().lower() for e in text.split(",") if e.strip()]


def blacklist_add(req):
    for addr in _b64_emails(req):
        if not first(req.account, "sp_blacklist", email=addr):
            store.put(req.account, "sp_blacklist", {"email": addr, "comment": req.b("comment", "")}, record_id=secrets.token_hex(8))
    return {"result": True}


def blacklist_remove(req):
    for addr in _b64_emails(req):
        rec = first(req.account, "sp_blacklist", email=addr)
        if rec:
            rec.delete()
    return {"result": True}


def blacklist(req):
    return [d["email"] for d in store.docs(req.account, "sp_blacklist")]


def smtp_send(req):
    e = req.b("email")
    if not isinstance(e, dict):
        raise Fail(400, error(400, "Empty email data", 10))
    sender = (e.get("from") or {}).get("email")
    if not first(req.account, "sp_sender", email=sender):
        raise Fail(422, error(422, "Sender is not valid", 8))
    if not e.get("subject") or not e.get("to") or not (e.get("html") or e.get("text") or e.get("template")):
        raise Fail(422, error(422, "subject, to and html, text or template are required", 10))
    if e.get("html"):
        try:
            base64.b64decode(e["html"], validate=True)
        except binascii.Error:
            raise Fail(422, error(422, "html must be base64-encoded", 10)) from None
    if any(first(req.account, "sp_blacklist", email=str(t.get("email")).lower()) for t in e["to"]):
        raise Fail(422, error(422, "The recipient is in the blacklist", 11))
    rec = store.put(req.account, "sp_smtp", {**e, "created_ts": _now_ts()}, record_id=secrets.token_hex(10))
    return {"result": True, "id": rec.record_id}


def senders(req):
    return [_out(d) for d in store.docs(req.account, "sp_sender")]


def webhooks(req):
    return {"success": True, "data": [_out(d) for d in store.docs(req.account, "sp_webhook")]}


def create_webhook(req):
    from connectors.email_apps.sendpulse import EVENTS

    actions = req.b("actions") or []
    if not str(req.b("url") or "").startswith(("http://", "https://")) or not actions or set(actions) - set(EVENTS):
        raise Fail(400, {"success": False, "errors": {"url": ["A valid url and supported actions are required"]}})
    rows = []
    for action in actions:
        wid = int(next_id(req.account, "sp_webhook", 0))
        rows.append(_out(put_doc(req.account, "sp_webhook", {"id": wid, "user_id": 1, "url": req.b("url"),
                                                             "action": action})))
    return 201, {"success": True, "data": rows}


def delete_webhook(req):
    store.delete(find(req.account, "sp_webhook", req.params["id"], Fail(404, {"success": False, "errors": {"id": ["Not found"]}})))
    return {"success": True, "data": True}


ROUTES = [
    Route("POST", "/oauth/access_token", token, auth=False),
    Route("GET", "/addressbooks", books), Route("POST", "/addressbooks", create_book),
    Route("GET", "/addressbooks/{book_id}", book),
    Route("POST", "/addressbooks/{book_id}/emails", add_emails), Route("GET", "/addressbooks/{book_id}/emails", list_emails),
    Route("DELETE", "/addressbooks/{book_id}/emails", delete_emails),
    Route("GET", "/addressbooks/{book_id}/emails/total", total),
    Route("POST", "/addressbooks/{book_id}/emails/variable", set_variables),
    Route("GET", "/addressbooks/{book_id}/emails/{email}", get_email),
    Route("POST", "/blacklist", blacklist_add), Route("DELETE", "/blacklist", blacklist_remove),
    Route("GET", "/blacklist", blacklist), Route("POST", "/smtp/emails", smtp_send), Route("GET", "/senders", senders),
    Route("GET", "/v2/email-service/webhook", webhooks), Route("POST", "/v2/email-service/webhook", create_webhook),
    Route("DELETE", "/v2/email-service/webhook/{id}", delete_webhook),
]
