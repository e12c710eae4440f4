"""MailerSend sandbox (email-apis.md section 1): Bearer tokens, /email (202 + x-message-id), bulk
email, suppressions, recipients, activity, domains, templates, webhooks with the `webhook.test`
ping and `Signature`-signed activity events. Lists use Laravel pagination (`data`, `links`, `meta`)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from .. import store
from .base import Fail, Route, account_for_key, find, first, hex_id
from connectors.email_apps.webhooks import hex_hmac

LISTS = ("blocklist", "hard-bounces", "spam-complaints", "unsubscribes", "on-hold-list")
TEST_SECRET = "sandbox-mailersend-webhook-test-secret"  # stands in for MailerSend's public test secret


def error(status: int, message: str, errors: dict | None = None):
    return {"message": message, **({"errors": errors} if errors else {})}


def invalid(field: str, message: str):
    return Fail(422, error(422, "The given data was invalid.", {field: [message]}))


def authenticate(headers):
    auth = headers.get("Authorization", "")
    account = account_for_key("mailersend", auth[7:].strip()) if auth.startswith("Bearer ") else None
    if account is None:
        raise Fail(401, error(401, "Unauthenticated."))
    return account


def limit_headers(limit, remaining, reset):
    return {"x-ratelimit-limit": limit, "x-ratelimit-remaining": remaining, "x-apiquota-remaining": -1,
            "x-apiquota-reset": datetime.now(timezone.utc).replace(hour=0, minute=0, second=0).isoformat()}


def retry_headers(reset):
    return {"retry-after": reset, "x-ratelimit-reset": reset}


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def seed(account):
    domain = store.put(account, "ms_domain", {"name": "brightside.test", "is_verified": True, "created_at": now_iso()},
                       record_id=hex_id(16)).data
    store.put(account, "ms_template", {"name": "Welcome", "type": "html", "domain_id": domain["id"],
                                       "subject": "Welcome, {{name}}", "created_at": now_iso()}, record_id="welcome-tpl")


def paged(req, docs: list):
    n, size = req.q("page", 1, int), max(10, min(100, req.q("limit", 25, int)))
    chunk = docs[(n - 1) * size:n * size]
    base = f"https://api.mailersend.com/v1{req.path}"
    more = n * size < len(docs)
    return {"data": chunk, "links": {"first": f"{base}?page=1", "last": None,
                                     "prev": f"{base}?page={n - 1}" if n > 1 else None,
                                     "next": f"{base}?page={n + 1}" if more else None},
            "meta": {"current_page": n, "from": (n - 1) * size + 1 if chunk else None, "path": base,
                     "per_page": size, "to": (n - 1) * size + len(chunk) if chunk else None}}


def _docs(account, kind, **match):
    return [{k: v for k, v in d.items() if k != "locationId"} for d in store.docs(account, kind, **match)]


# --- sending ----------------------------------------------------------------------------------------

def _check_email(account, e: dict, prefix: str = "") -> dict:
    tpl = store.get(account, "ms_template", str(e.get("template_id"))) if e.get("template_id") else None
    if e.get("template_id") and tpl is None:
        raise invalid(prefix + "template_id", "The selected template_id is invalid.")
    to = e.get("to")
    if not isinstance(to, list) or not to or len(to) > 50 or not all(isinstance(t, dict) and "@" in str(t.get("email")) for t in to):
        raise invalid(prefix + "to", "The to field is required and must hold 1 to 50 recipients with an email. #MS42209")
    sender = (e.get("from") or {}).get("email") if isinstance(e.get("from"), dict) else None
    if not sender and not tpl:
        raise invalid(prefix + "from.email", "The from.email field is required. #MS42206")
    domains = {d["name"] for d in store.docs(account, "ms_domain")}
    if sender and sender.split("@")[-1] not in domains:
        raise invalid(prefix + "from.email", "The from.email domain must be verified in your account to send emails. #MS42207")
    if not (e.get("subject") or tpl):
        raise invalid(prefix + "subject", "The subject field is required when no template is given.")
    if not (e.get("text") or e.get("html") or tpl):
        raise invalid(prefix + "text", "The text field is required when html or template_id is not present.")
    if len(e.get("tags") or []) > 5:
        raise invalid(prefix + "tags", "The tags may not have more than 5 items.")
    return tpl.data if tpl else {}


def _send(req, e: dict) -> tuple[str, list]:
    """Store the message, its recipients and sent/delivered activity; queue signed webhooks."""
    account = req.account
    tpl = _check_email(account, e)
    domain_id = tpl.get("domain_id") or next(iter(d["id"] for d in store.docs(account, "ms_domain")), "")
    suppressed_emails = {d["recipient"]["email"] for d in store.docs(account, "ms_suppression")}
    subject = e.get("subject") or tpl.get("subject", "")
    message_id = hex_id()
    data = {rec["email"]: rec.get("data", {}) for rec in e.get("personalization") or []}
    for k, v in (data.get(e["to"][0]["email"]) or {}).items():
        subject = subject.replace("{{" + k + "}}", str(v)).replace("{{ " + k + " }}", str(v))
    store.put(account, "ms_message", {"subject": subject, "from": e.get("from"), "to": e["to"], "tags": e.get("tags", []),
                                      "template_id": e.get("template_id"), "personalization": e.get("personalization"),
                                      "html": e.get("html"), "text": e.get("text"), "created_at": now_iso()},
              record_id=message_id)
    warnings = []
    for person in e["to"]:
        addr = person["email"].lower()
        if addr in suppressed_emails:
            warnings.append({"email": addr, "name": person.get("name"), "reasons": ["blocklisted"]})
            continue
        rec = first(account, "ms_recipient", email=addr) or store.put(
            account, "ms_recipient", {"email": addr, "created_at": now_iso(), "updated_at": now_iso(), "deleted_at": ""},
            record_id=hex_id())
        for kind in ("sent", "delivered"):
            act = store.put(account, "ms_activity", {
                "created_at": now_iso(), "updated_at": now_iso(), "type": kind, "domain_id": domain_id,
                "email": {"id": hex_id(), "from": (e.get("from") or {}).get("email"), "subject": subject,
                          "status": kind, "tags": e.get("tags") or [], "created_at": now_iso(),
                          "message": {"id": message_id}, "recipient": {"id": rec.record_id, "email": addr}}},
                record_id=hex_id()).data
            emit(req, f"activity.{kind}", {"id": act["id"], "domain_id": domain_id, "message_id": message_id,
                                           "email_id": act["email"]["id"], "type": kind, "subject": subject,
                                           "email": addr, "tags": e.get("tags") or [], "meta": []}, domain_id)
    return message_id, warnings


def emit(req, event: str, data: dict, domain_id: str):
    for hook in store.docs(req.account, "ms_webhook", domain_id=domain_id):
        if hook.get("enabled", True) and event in hook.get("events", []):
            raw = json.dumps({"type": event, "created_at": now_iso(), "data": data}, separators=(",", ":")).encode()
            req.events.append((hook["url"], raw, {"Signature": hex_hmac(hook["secret"], raw)}, event))


def send_email(req):
    if not isinstance(req.body, dict):
        raise invalid("to", "The to field is required.")
    message_id, warnings = _send(req, req.body)
    body = {"message": "There are some warnings for your request.",
            "warnings": [{"type": "SOME_SUPPRESSED", "warning": "Some of the recipients have been suppressed.",
                          "recipients": warnings}]} if warnings else None
    return 202, body, {"x-message-id": message_id}


def bulk_send(req):
    if not isinstance(req.body, list) or not req.body:
        raise Fail(422, error(422, "The given data was invalid.", {"0": ["A bulk request is a non-empty array of emails."]}))
    if len(req.body) > 500:
        raise invalid("0", "A bulk request holds at most 500 emails.")
    ids, errors = [], {}
    for n, e in enumerate(req.body):
        try:
            ids.append(_send(req, e)[0])
        except Fail as exc:
            errors.update({f"{n}.{k}": v for k, v in (exc.body.get("errors") or {}).items()})
    bulk = store.put(req.account, "ms_bulk", {
        "state": "completed", "total_recipients_count": sum(len(e.get("to") or []) for e in req.body),
        "suppressed_recipients_count": 0, "suppressed_recipients": None,
        "validation_errors_count": len(errors), "validation_errors": errors or None,
        "messages_id": ids, "created_at": now_iso(), "updated_at": now_iso()}, record_id=hex_id()).data
    return 202, {"message": "The bulk email is being processed.", "bulk_email_id": bulk["id"]}


def bulk_status(req):
    rec = find(req.account, "ms_bulk", req.params["bulk_id"], Fail(404, error(404, "Resource not found.")))
    return {"data": rec.data}


# --- suppressions and recipients -------------------------------------------------------------------------

def _list_type(req) -> str:
    if req.params["list"] not in LISTS:
        raise Fail(404, error(404, "Resource not found."))
    return req.params["list"]


def _domain(req, value, required=True):
    if not value and not required:
        return None
    if not value or store.get(req.account, "ms_domain", str(value)) is None:
        raise invalid("domain_id", "The selected domain id is invalid.")
    return store.get(req.account, "ms_domain", str(value)).data


def add_suppression(req):
    kind = _list_type(req)
    domain = _domain(req, req.b("domain_id"))
    emails, patterns = req.b("recipients") or [], req.b("patterns") or []
    if not emails and not (kind == "blocklist" and patterns):
        raise invalid("recipients", "The recipients field is required.")
    out = []
    for value in list(emails) + [p for p in patterns if kind == "blocklist"]:
        addr = str(value).lower()
        doc = {"type": "pattern" if "*" in addr else "exact", "pattern": addr if "*" in addr else None,
               "list": kind, "domain_id": domain["id"], "created_at": now_iso(),
               "recipient": {"email": addr, "domain": {"id": domain["id"], "name": domain["name"]}}}
        out.append(store.put(req.account, "ms_suppression", doc, record_id=hex_id()).data)
    return 201, {"data": out}


def remove_suppression(req):
    kind = _list_type(req)
    docs = store.records(req.account, "ms_suppression")
    doomed = [r for r in docs if r.data.get("list") == kind and
              (req.b("all") or r.record_id in (req.b("ids") or []))]
    if not req.b("all") and not req.b("ids"):
        raise invalid("ids", "The ids field is required when all is not present.")
    for r in doomed:
        r.delete()
    return 200, {"message": f"{len(doomed)} entries deleted."}


def list_suppressions(req):
    kind = _list_type(req)
    docs = [d for d in store.docs(req.account, "ms_suppression", list=kind)
            if not req.q("domain_id") or d["domain_id"] == req.q("domain_id")]
    return paged(req, list(reversed(docs)))


def recipients(req):
    return paged(req, _docs(req.account, "ms_recipient"))


def recipient(req):
    return {"data": find(req.account, "ms_recipient", req.params["id"], Fail(404, error(404, "Resource not found."))).data}


def delete_recipient(req):
    store.delete(find(req.account, "ms_recipient", req.params["id"], Fail(404, error(404, "Resource not found."))))
    return 204, None


# --- activity, lookups, webhooks ---------------------------------------------------------------------------

def activity(req):
    _domain(req, req.params["domain_id"])
    try:
        start, end = int(req.q("date_from")), int(req.q("date_to"))
    except (TypeError, ValueError):
        raise invalid("date_from", "The date from and date to fields are required.") from None
    if end < start or end - start > 7 * 86400:
        raise invalid("date_to", "The date range may not be longer than 7 days.")
    events = req.query.get("event[]") or req.query.get("event") or []
    events = [events] if isinstance(events, str) else events
    out = []
    for d in reversed(store.docs(req.account, "ms_activity", domain_id=req.params["domain_id"])):
        t = datetime.strptime(d["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
        if start <= t <= end and (not events or d["type"] in events):
            out.append({k: v for k, v in d.items() if k != "locationId"})
    return paged(req, out)


def domains(req):
    return paged(req, _docs(req.account, "ms_domain"))


def templates(req):
    return paged(req, _docs(req.account, "ms_template"))


def _hook_out(doc):
    return {k: v for k, v in doc.items() if k != "locationId"}


def list_webhooks(req):
    _domain(req, req.q("domain_id"))
    return paged(req, [_hook_out(d) for d in store.docs(req.account, "ms_webhook", domain_id=req.q("domain_id"))])


def get_webhook(req):
    return {"data": _hook_out(find(req.account, "ms_webhook", req.params["id"], Fail(404, error(404, "Resource not found."))).data)}


def _ping(req, url: str):
    """MailerSend pings a new or changed webhook (signed with the public test secret) and refuses
    to save it unless the endpoint answers 2xx [S]."""
    import httpx

    raw = json.dumps({"type": "webhook.test", "message": "This is a test webhook.", "created_at": now_iso()},
                     separators=(",", ":")).encode()
    try:
        ok = httpx.post(url, content=raw, timeout=5, headers={"Content-Type": "application/json",
                                                              "Signature": hex_hmac(TEST_SECRET, raw)}).is_success
    except httpx.HTTPError:
        ok = False
    if not ok:
        raise invalid("url", "The webhook URL did not answer the test request with a 2xx status.")


def create_webhook(req):
    domain = _domain(req, req.b("domain_id"))
    for f in ("url", "name"):
        if not req.b(f) or len(str(req.b(f))) > 191:
            raise invalid(f, f"The {f} field is required (at most 191 characters).")
    if not req.b("events"):
        raise invalid("events", "The events field is required.")
    _ping(req, req.b("url"))
    doc = {"url": req.b("url"), "name": req.b("name"), "events": req.b("events"), "enabled": req.b("enabled", True),
           "version": req.b("version", 1), "secret": hex_id(32), "domain_id": domain["id"],
           "domain": {"id": domain["id"], "name": domain["name"]}, "created_at": now_iso(), "updated_at": now_iso()}
    return 201, {"data": _hook_out(store.put(req.account, "ms_webhook", doc, record_id=hex_id(16)).data)}


def update_webhook(req):
    rec = find(req.account, "ms_webhook", req.params["id"], Fail(404, error(404, "Resource not found.")))
    changes = {k: req.b(k) for k in ("url", "name", "events", "enabled", "version") if req.b(k) is not None}
    if "url" in changes:
        _ping(req, changes["url"])
    return {"data": _hook_out(store.update(rec, {**changes, "updated_at": now_iso()}, stamp=None).data)}


def delete_webhook(req):
    store.delete(find(req.account, "ms_webhook", req.params["id"], Fail(404, error(404, "Resource not found."))))
    return 204, None


def api_quota(req):
    return {"quota": 100000, "remaining": 99999, "reset": now_iso()}


ROUTES = [
    Route("POST", "/email", send_email), Route("POST", "/bulk-email", bulk_send),
    Route("GET", "/bulk-email/{bulk_id}", bulk_status),
    Route("POST", "/suppressions/{list}", add_suppression), Route("DELETE", "/suppressions/{list}", remove_suppression),
    Route("GET", "/suppressions/{list}", list_suppressions),
    Route("GET", "/recipients", recipients), Route("GET", "/recipients/{id}", recipient),
    Route("DELETE", "/recipients/{id}", delete_recipient),
    Route("GET", "/activity/{domain_id}", activity), Route("GET", "/domains", domains), Route("GET", "/templates", templates),
    Route("GET", "/webhooks", list_webhooks), Route("POST", "/webhooks", create_webhook),
    Route("GET", "/webhooks/{id}", get_webhook), Route("PUT", "/webhooks/{id}", update_webhook),
    Route("DELETE", "/webhooks/{id}", delete_webhook), Route("GET", "/api-quota", api_quota),
]
