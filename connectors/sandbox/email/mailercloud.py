"""Mailercloud sandbox (email-apis.md section 4): raw `Authorization: <key>`, POST searches paged by
`page`/`limit` in the body, `{"data": [...]}` lists, `{"id"}` creates, `{"errors"}`/`{"message"}`
errors. The unconfirmed paths (update by email or id, delete by id) are served as the connector's
defaults declare them."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import unquote

from .. import store
from .base import Fail, Route, account_for_key, find, first, hex_id

FIELDS = ("name", "last_name", "city", "state", "zip", "country", "phone", "industry", "department", "job_title",
          "organization")


def error(status: int, message: str):
    return {"errors": [{"field": "", "message": message}]} if status in (400, 422) else {"message": message}


def authenticate(headers):
    account = account_for_key("mailercloud", headers.get("Authorization", "").strip())
    if account is None:
        raise Fail(401, {"message": "Unauthorized: invalid API key"})
    return account


def limit_headers(limit, remaining, reset):
    return {}


def retry_headers(reset):
    return {"Retry-After": reset}


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def seed(account):
    store.put(account, "mc_list", {"name": "Newsletter", "list_type": 1, "contact_count": 0, "created_date": now()},
              record_id=hex_id(10))
    for name in ("name", "last_name", "city", "company_size"):
        store.put(account, "mc_prop", {"field_name": name, "field_type": "text", "is_default": name != "company_size"},
                  record_id=hex_id(8))
    store.put(account, "mc_tag", {"tag_name": "customer"}, record_id=hex_id(8))


def _paged(req, docs: list):
    n, size = int(req.b("page", 1) or 1), max(1, min(100, int(req.b("limit", 10) or 10)))
    return {"data": [{k: v for k, v in d.items() if k != "locationId"} for d in docs[(n - 1) * size:n * size]],
            "total": len(docs), "page": n, "limit": size}


def _search(docs, key, text):
    return [d for d in docs if not text or str(text).lower() in str(d.get(key, "")).lower()]


def search_lists(req):
    return _paged(req, _search(store.docs(req.account, "mc_list"), "name", req.b("search_name")))


def create_list(req):
    if not req.b("name"):
        raise Fail(400, error(400, "name is required"))
    return {"id": store.put(req.account, "mc_list", {"name": req.b("name"), "list_type": req.b("list_type", 1),
                                                     "contact_count": 0, "created_date": now()}, record_id=hex_id(10)).record_id}


def _list(req, list_id):
    return find(req.account, "mc_list", str(list_id or ""), Fail(400, error(400, "list_id is invalid")))


def _contact_doc(req, body: dict, list_id: str) -> dict:
    doc = {k: body[k] for k in FIELDS if body.get(k) not in (None, "")}
    if body.get("custom_fields"):
        known = {r.record_id for r in store.records(req.account, "mc_prop")}
        unknown = set(body["custom_fields"]) - known
        if unknown:
            raise Fail(400, error(400, f"custom_fields: unknown property id {sorted(unknown)[0]}"))
        doc["custom_fields"] = body["custom_fields"]
    if body.get("tags"):
        doc["tags"] = list(body["tags"])
    return {**doc, "list_id": list_id}


def _valid(req, body) -> tuple[str, str]:
    email = str((body or {}).get("email") or "").strip().lower()
    if "@" not in email:
        raise Fail(400, error(400, "email is invalid"))
    return email, _list(req, (body or {}).get("list_id")).record_id


def create_contact(req):
    email, list_id = _valid(req, req.body)
    if first(req.account, "mc_contact", email=email, list_id=list_id):
        raise Fail(400, error(400, "Contact already exists in this list"))
    doc = {"email": email, **_contact_doc(req, req.body, list_id), "created_date": now(), "status": "active"}
    return {"id": store.put(req.account, "mc_contact", doc, parent=list_id, record_id=hex_id(12)).record_id}


def _upsert(req, body) -> tuple[str, str]:
    email, list_id = _valid(req, body)
    rec = first(req.account, "mc_contact", email=email, list_id=list_id)
    if rec:
        store.update(rec, {**_contact_doc(req, body, list_id), "updated_date": now()}, stamp=None)
        return rec.record_id, "updated"
    doc = {"email": email, **_contact_doc(req, body, list_id), "created_date": now(), "status": "active"}
    return store.put(req.account, "mc_contact", doc, parent=list_id, record_id=hex_id(12)).record_id, "created"


def upsert_contact(req):
    contact_id, status = _upsert(req, req.body)
    return {"contact_id": contact_id, "status": status}


def batch(req):
    contacts = req.b("contacts")
    if not isinstance(contacts, list) or not contacts:
        raise Fail(400, error(400, "contacts is required"))
    counts = {"inserted": 0, "updated": 0, "skipped": 0, "submitted": len(contacts)}
    for c in contacts:
        try:
            _, status = _upsert(req, {**(c if isinstance(c, dict) else {}), "list_id": req.b("list_id")})
            counts["inserted" if status == "created" else "updated"] += 1
        except Fail as exc:
            if "list_id" in str(exc.body):
                raise
            counts["skipped"] += 1
    return {"data": counts}


def search_contacts(req):
    list_id = _list(req, req.params["list_id"]).record_id
    docs = [{**d, "id": d["id"]} for d in store.docs(req.account, "mc_contact", list_id=list_id)]
    return _paged(req, _search(docs, "email", req.b("search")))


def _contact(req):
    key = unquote(req.params["contact"])
    rec = store.get(req.account, "mc_contact", key) or first(req.account, "mc_contact", email=key.lower())
    if rec is None:
        raise Fail(404, {"message": "Contact not found"})
    return rec


def update_contact(req):
    rec = _contact(req)
    store.update(rec, {**_contact_doc(req, req.body or {}, rec.data["list_id"]), "updated_date": now()}, stamp=None)
    return {"message": "Contact updated successfully", "id": rec.record_id}


def delete_contact(req):
    rec = _contact(req)
    store.delete(rec)
    return {"message": "Contact deleted successfully"}


def search_properties(req):
    return _paged(req, _search(store.docs(req.account, "mc_prop"), "field_name", req.b("search")))


def create_property(req):
    if not req.b("name"):
        raise Fail(400, error(400, "name is required"))
    doc = {"field_name": req.b("name"), "field_type": req.b("type", "text"), "is_default": False}
    return {"id": store.put(req.account, "mc_prop", doc, record_id=hex_id(8)).record_id}


def search_tags(req):
    return _paged(req, _search(store.docs(req.account, "mc_tag"), "tag_name", req.b("search")))


def plan(req):
    return {"data": {"plan_name": "Sandbox", "contact_limit": 100000, "email_limit": 500000}}


ROUTES = [
    Route("GET", "/client/plan", plan),
    Route("POST", "/lists/search", search_lists), Route("POST", "/list", create_list),
    Route("POST", "/contacts", create_contact), Route("POST", "/contacts/upsert", upsert_contact),
    Route("POST", "/contacts/batch", batch), Route("POST", "/contact/search/{list_id}", search_contacts),
    Route("PUT", "/contacts/{contact}", update_contact), Route("DELETE", "/contacts/{contact}", delete_contact),
    Route("POST", "/contact/property/search", search_properties), Route("POST", "/contact/property", create_property),
    Route("POST", "/tags/search", search_tags),
]
