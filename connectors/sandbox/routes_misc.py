"""Conversations and messages, users, businesses, locations (custom fields, values, tags), agency
reads (company, snapshots), workflows, campaigns, form submissions, associations and blogs."""
from django.http import HttpResponse

from . import store
from .auth import ApiError, location_for
from .handlers import Ctx, create_, delete_, get_, list_, page_meta, route, skip_limit, table, update_
from .models import SandboxLocation

CONV_TYPES = {"TYPE_PHONE": 1, "TYPE_EMAIL": 2, "TYPE_FB_MESSENGER": 3, "TYPE_REVIEW": 4, "TYPE_GROUP_SMS": 5}
MESSAGE_TYPES = {"SMS": ("TYPE_SMS", 2), "Email": ("TYPE_EMAIL", 3), "WhatsApp": ("TYPE_WHATSAPP", 19),
                 "GMB": ("TYPE_GMB", 6), "IG": ("TYPE_INSTAGRAM", 18), "FB": ("TYPE_FACEBOOK", 4),
                 "Custom": ("TYPE_CUSTOM_SMS", 25), "Live_Chat": ("TYPE_LIVE_CHAT", 29)}


@route("GET", "/conversations/search")
def search_conversations(ctx: Ctx):
    """Newest first; ``startAfterDate`` is the ``sortKey`` (ms) of the last conversation seen."""
    items = sorted(store.docs(ctx.location, "conversation"), key=lambda d: d.get("sortKey", 0), reverse=True)
    for qname in ("contactId", "assignedTo", "id"):
        if ctx.q(qname):
            items = [d for d in items if d.get(qname) == ctx.q(qname)]
    if ctx.q("status") == "unread":
        items = [d for d in items if d.get("unreadCount")]
    if ctx.q("query"):
        text = str(ctx.q("query")).lower()
        items = [d for d in items if text in f"{d.get('fullName')} {d.get('email')} {d.get('phone')}".lower()]
    total = len(items)
    if ctx.q("startAfterDate") is not None:
        items = [d for d in items if d.get("sortKey", 0) < int(ctx.q("startAfterDate"))]
    chunk = items[:min(int(ctx.q("limit", 20)), 100)]
    return {"conversations": [{**store.clean(d), "sort": [d.get("sortKey", 0)]} for d in chunk], "total": total}


@route("GET", "/conversations/{conversationId}")
def get_conversation(ctx: Ctx):
    doc = dict(ctx.find("conversation", ctx.path["conversationId"], "Conversation").data)
    doc["type"] = CONV_TYPES.get(doc.get("type"), 1)
    return store.clean(doc)


@route("GET", "/conversations/{conversationId}/messages")
def conversation_messages(ctx: Ctx):
    """Newest first, ``lastMessageId`` cursor, ``nextPage`` when more remain."""
    ctx.find("conversation", ctx.path["conversationId"], "Conversation")
    items = sorted(store.docs(ctx.location, "message", ctx.path["conversationId"]), key=lambda d: d["dateAdded"], reverse=True)
    if ctx.q("type"):
        wanted = set(ctx.q("type").split(",")) if isinstance(ctx.q("type"), str) else set(ctx.q("type"))
        items = [d for d in items if d.get("messageType") in wanted]
    ids = [d["id"] for d in items]
    if ctx.q("lastMessageId") in ids:
        items = items[ids.index(ctx.q("lastMessageId")) + 1:]
    size = min(int(ctx.q("limit", 20)), 100)
    chunk = items[:size]
    return {"lastMessageId": chunk[-1]["id"] if chunk else "", "nextPage": len(items) > size,
            "messages": [store.clean(d) for d in chunk]}


@route("GET", "/conversations/messages/email/{id}")
def email_message(ctx: Ctx):
    doc = ctx.find("message", ctx.path["id"], "Message").data
    if doc.get("messageType") != "TYPE_EMAIL":
        raise ApiError(404, "Email message not found", "Not Found")
    contact = store.get(ctx.location, "contact", doc["contactId"])
    email = contact.data.get("email", "") if contact else ""
    me = "hello@brightside.example"
    return store.clean({**{k: doc.get(k) for k in ("id", "locationId", "contactId", "conversationId", "dateAdded",
                                                  "body", "direction", "status", "source", "attachments")},
                        "threadId": doc["id"], "contentType": "text/html", "subject": doc.get("subject", "Re: your enquiry"),
                        "from": email if doc["direction"] == "inbound" else me,
                        "to": [me if doc["direction"] == "inbound" else email], "provider": "Leadconnector"})


@route("POST", "/conversations/messages")
def send_message(ctx: Ctx):
    """Send Message: finds or opens the contact's conversation and records an outbound message."""
    contact = ctx.find("contact", ctx.b("contactId"), "Contact").data
    kind = ctx.b("type")
    if kind not in MESSAGE_TYPES:
        raise ApiError(422, [f"type must be one of the following values: {', '.join(MESSAGE_TYPES)}"], "Unprocessable Entity")
    if kind == "SMS" and contact.get("dnd"):
        raise ApiError(400, "Cannot send message as DND is active for SMS.")
    convs = store.docs(ctx.location, "conversation", contactId=contact["id"])
    now = store.now_iso()
    if convs:
        conv = store.get(ctx.location, "conversation", convs[0]["id"])
    else:
        conv = store.put(ctx.location, "conversation", {
            "contactId": contact["id"], "fullName": contact.get("name", ""), "contactName": contact.get("name", ""),
            "email": contact.get("email", ""), "phone": contact.get("phone", ""), "type": "TYPE_PHONE",
            "unreadCount": 0, "inbox": True, "starred": False, "deleted": False, "dateAdded": now})
    mtype, num = MESSAGE_TYPES[kind]
    body = ctx.b("message") or ctx.b("html") or ""
    msg = store.put(ctx.location, "message", {
        "conversationId": conv.record_id, "contactId": contact["id"], "body": body, "direction": "outbound",
        "type": num, "messageType": mtype, "contentType": "text/html" if kind == "Email" else "text/plain",
        "status": "pending" if ctx.b("scheduledTimestamp") else "delivered", "dateAdded": now, "source": "api",
        "attachments": ctx.b("attachments", []), "subject": ctx.b("subject")}, parent=conv.record_id).data
    store.update(conv, {"lastMessageBody": body, "lastMessageType": mtype, "sortKey": int(__import__("time").time() * 1000)})
    ctx.emit("OutboundMessage", msg)
    out = {"conversationId": conv.record_id, "messageId": msg["id"], "msg": "Message queued successfully.",
           "status": msg["status"]}
    if kind == "Email":
        out["emailMessageId"] = msg["id"]
    return out


@route("PUT", "/conversations/messages/{messageId}/status")
def message_status(ctx: Ctx):
    rec = ctx.find("message", ctx.path["messageId"], "Message")
    store.update(rec, {"status": ctx.b("status")}, stamp=None)
    return {"conversationId": rec.data["conversationId"], "messageId": rec.record_id, "status": rec.data["status"]}


def _media(kind: str):
    """Recording (a tiny silent WAV), transcription (two sentences) and its text download."""
    def handler(ctx: Ctx):
        location_for(ctx.token, ctx.path["locationId"])
        ctx.find("message", ctx.path["messageId"], "Message")
        if kind == "recording":
            wav = (b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00@\x1f\x00\x00\x80>\x00\x00"
                   b"\x02\x00\x10\x00data\x00\x00\x00\x00")
            resp = HttpResponse(wav, content_type="audio/x-wav")
            resp["Content-Disposition"] = f'attachment; filename="{ctx.path["messageId"]}.wav"'
            return 200, resp
        lines = [(0, 0, 0, 2.4, "Hi, this is Rachel from Brightside Marketing.", 0.97),
                 (1, 1, 2.5, 5.0, "Thanks for calling, how can I help?", 0.95)]
        if kind == "download":
            return 200, HttpResponse("\n".join(f"[{s:.1f}s] {t}" for _, _, s, _, t, _ in lines), content_type="text/plain")
        ch, i, s, e, t, c = lines[0]  # the documented response is one sentence object
        return {"mediaChannel": ch, "sentenceIndex": i, "startTime": s, "endTime": e, "transcript": t, "confidence": c}
    return handler


# --- users -------------------------------------------------------------------------------------

def _user_extra(ctx: Ctx, doc: dict):
    doc.pop("password", None)
    doc["name"] = f"{doc.get('firstName', '')} {doc.get('lastName', '')}".strip()
    doc["roles"] = {"type": doc.pop("type", "account"), "role": doc.pop("role", "user"),
                    "locationIds": doc.pop("locationIds", [ctx.location.id]), "restrictSubAccount": False}
    doc.pop("companyId", None)


def _users_search(ctx: Ctx):
    items = store.docs(ctx.location, "user")
    if ctx.q("query"):
        items = [d for d in items if str(ctx.q("query")).lower() in f"{d.get('name')} {d.get('email')}".lower()]
    if ctx.q("role"):
        items = [d for d in items if d.get("roles", {}).get("role") == ctx.q("role")]
    if ctx.q("ids"):
        ids = ctx.q("ids") if isinstance(ctx.q("ids"), list) else str(ctx.q("ids")).split(",")
        items = [d for d in items if d["id"] in ids]
    if isinstance(ctx.body, dict) and ctx.b("emails") is not None:
        raw = ctx.b("emails")
        emails = {e.strip().lower() for e in (raw.split(",") if isinstance(raw, str) else raw)}
        items = [d for d in items if d.get("email", "").lower() in emails]
        ctx.query.update(skip=ctx.b("skip", 0), limit=ctx.b("limit", 25))
    return {"users": [store.clean(d) for d in skip_limit(ctx, items, 25)], "count": len(items)}


def _business_extra(ctx: Ctx, doc: dict):
    doc["createdAt"] = doc["updatedAt"] = doc.pop("dateAdded")


# --- locations and agency ----------------------------------------------------------------------

@route("GET", "/locations/{locationId}")
def get_location(ctx: Ctx):
    loc = location_for(ctx.token, ctx.path["locationId"])
    rec = store.get(loc, "location", loc.id)
    return {"location": store.clean(rec.data if rec else {"id": loc.id, "name": loc.name, "companyId": loc.company_id})}


@route("GET", "/locations/search")
def search_locations(ctx: Ctx):
    locs = SandboxLocation.objects.filter(company_id=ctx.location.company_id)
    if ctx.token.user_type != "Company":
        locs = locs.filter(id=ctx.location.id)
    docs = []
    for loc in locs.order_by("-created" if ctx.q("order") == "desc" else "created"):
        rec = store.get(loc, "location", loc.id)
        docs.append(rec.data if rec else {"id": loc.id, "name": loc.name})
    if ctx.q("email"):
        docs = [d for d in docs if d.get("email") == ctx.q("email")]
    return {"locations": [store.clean(d) for d in skip_limit(ctx, docs, 10)]}


@route("POST", "/locations/")
def create_location(ctx: Ctx):
    if ctx.b("companyId") != ctx.location.company_id:
        raise ApiError(403, "The token does not have access to this company.")
    loc = SandboxLocation.objects.create(name=ctx.b("name"), company_id=ctx.location.company_id)
    data = {k: v for k, v in ctx.body.items() if k not in ("snapshotId", "twilio", "mailgun", "prospectInfo")}
    return store.clean(store.put(loc, "location", {**data, "companyId": loc.company_id}, record_id=loc.id).data)


def _company(ctx: Ctx):
    if ctx.path["companyId"] != ctx.location.company_id:
        raise ApiError(403, "The token does not have access to this company.")
    return {"company": {"id": ctx.location.company_id, "name": "Brightside Agency Partners", "email": "owner@brightside.example",
                        "phone": "+15125550199", "website": "https://brightside.example", "domain": "app.brightside.example",
                        "country": "US", "timezone": "America/Chicago", "currency": "USD", "plan": 297,
                        "customerType": "agency", "twilioTrialMode": False}}


def _location_scoped(handler):
    """Endpoints under /locations/{locationId}/... act on that location (checked against the token)."""
    def wrapped(ctx: Ctx):
        ctx.location = location_for(ctx.token, ctx.path["locationId"])
        return handler(ctx)
    return wrapped


def _submissions(ctx: Ctx):
    items = sorted(store.docs(ctx.location, "form_submission"), key=lambda d: d["createdAt"], reverse=True)
    if ctx.q("formId"):
        items = [d for d in items if d["formId"] == ctx.q("formId")]
    if ctx.q("q"):
        items = [d for d in items if str(ctx.q("q")).lower() in f"{d.get('name')} {d.get('email')}".lower()]
    if ctx.q("startAt"):
        items = [d for d in items if d["createdAt"][:10] >= str(ctx.q("startAt"))]
    if ctx.q("endAt"):
        items = [d for d in items if d["createdAt"][:10] <= str(ctx.q("endAt"))]
    chunk, meta = page_meta(ctx, items, 20)
    return {"submissions": [store.clean(d) for d in chunk], "meta": store.clean(meta)}


# --- associations and blogs --------------------------------------------------------------------

def _relation_extra(ctx: Ctx, doc: dict):
    assoc = ctx.find("association", doc.get("associationId"), "Association").data
    for k in ("key", "firstObjectLabel", "firstObjectKey", "secondObjectLabel", "secondObjectKey", "associationType"):
        doc[k] = assoc.get(k, "")


def _relations(ctx: Ctx):
    items = [d for d in store.docs(ctx.location, "relation")
             if ctx.path["recordId"] in (d.get("firstRecordId"), d.get("secondRecordId"))]
    return {"relations": [store.clean(d) for d in skip_limit(ctx, items, 10)], "total": len(items)}


def _assoc_by(field: str, param: str):
    def handler(ctx: Ctx):
        found = [d for d in store.docs(ctx.location, "association") if d.get(field) == ctx.path[param]
                 or (field == "firstObjectKey" and d.get("secondObjectKey") == ctx.path[param])]
        if not found:
            raise ApiError(404, "Association not found", "Not Found")
        return store.clean(found[0])
    return handler


def _delete_association(ctx: Ctx):
    store.delete(ctx.find("association", ctx.path["associationId"], "Association"))
    return {"deleted": True, "id": ctx.path["associationId"], "message": "Association deleted successfully"}


def _delete_relation(ctx: Ctx):
    rec = ctx.find("relation", ctx.path["relationId"], "Relation")
    store.delete(rec)
    return store.clean(rec.data)


def _post_extra(ctx: Ctx, doc: dict):
    doc.update(archived=False, updatedAt=doc.get("dateAdded"), canonicalLink=doc.get("canonicalLink") or "")


def _slug_exists(ctx: Ctx):
    hits = [d for d in store.docs(ctx.location, "blog_post", urlSlug=ctx.q("urlSlug")) if d["id"] != ctx.q("postId")]
    return {"exists": bool(hits)}


def _posts(ctx: Ctx):
    items = store.docs(ctx.location, "blog_post", blogId=ctx.q("blogId"))
    if ctx.q("status"):
        items = [d for d in items if d.get("status") == ctx.q("status")]
    if ctx.q("searchTerm"):
        items = [d for d in items if str(ctx.q("searchTerm")).lower() in d.get("title", "").lower()]
    return {"blogs": [store.clean(d) for d in skip_limit(ctx, items, 10, skip="offset")]}


table({
    ("GET", "/conversations/messages/{id}"): get_("message", "id", None, "Message"),
    ("POST", "/conversations/providers/live-chat/typing"): lambda ctx: {"success": True},
    ("GET", "/conversations/messages/{messageId}/locations/{locationId}/recording"): _media("recording"),
    ("GET", "/conversations/locations/{locationId}/messages/{messageId}/transcription"): _media("transcription"),
    ("GET", "/conversations/locations/{locationId}/messages/{messageId}/transcription/download"): _media("download"),
    ("GET", "/users/search"): _users_search,
    ("POST", "/users/search/filter-by-email"): _users_search,
    ("GET", "/users/"): list_("user", "users"),
    ("POST", "/users/"): create_("user", None, extra=_user_extra),
    ("GET", "/users/{userId}"): get_("user", "userId", None, "User"),
    ("PUT", "/users/{userId}"): update_("user", "userId", None, "User"),
    ("DELETE", "/users/{userId}"): delete_("user", "userId", {"succeded": True, "message": "Queued deleting user"}, "User"),
    ("GET", "/businesses/"): list_("business", "businesses", page="skip", default=100),
    ("POST", "/businesses/"): create_("business", "buiseness", envelope={"success": True}, extra=_business_extra),
    ("GET", "/businesses/{businessId}"): get_("business", "businessId", "business", "Business"),
    ("PUT", "/businesses/{businessId}"): update_("business", "businessId", "buiseness", "Business", envelope={"success": True}),
    ("DELETE", "/businesses/{businessId}"): delete_("business", "businessId", {"success": True}, "Business"),
    ("GET", "/locations/{locationId}/customFields"): _location_scoped(list_("custom_field", "customFields", match={"model": "model"})),
    ("GET", "/locations/{locationId}/customValues"): _location_scoped(list_("custom_value", "customValues")),
    ("GET", "/locations/{locationId}/tags"): _location_scoped(list_("tag", "tags")),
    ("GET", "/companies/{companyId}"): _company,
    ("GET", "/snapshots/"): list_("snapshot", "snapshots"),
    ("GET", "/workflows/"): list_("workflow", "workflows"),
    ("GET", "/campaigns/"): list_("campaign", "campaigns", match={"status": "status"}),
    ("GET", "/forms/submissions"): _submissions,
    ("GET", "/associations/"): lambda ctx: {"associations": [store.clean(d) for d in skip_limit(ctx, store.docs(ctx.location, "association"), 10)],
                                            "total": len(store.docs(ctx.location, "association"))},
    ("POST", "/associations/"): create_("association", None, extra=lambda c, d: d.setdefault("associationType", "USER_DEFINED")),
    ("GET", "/associations/{associationId}"): get_("association", "associationId", None, "Association"),
    ("PUT", "/associations/{associationId}"): update_("association", "associationId", None, "Association"),
    ("DELETE", "/associations/{associationId}"): _delete_association,
    ("GET", "/associations/key/{key_name}"): _assoc_by("key", "key_name"),
    ("GET", "/associations/objectKey/{objectKey}"): _assoc_by("firstObjectKey", "objectKey"),
    ("POST", "/associations/relations"): create_("relation", None, extra=_relation_extra),
    ("GET", "/associations/relations/{recordId}"): _relations,
    ("DELETE", "/associations/relations/{relationId}"): _delete_relation,
    ("GET", "/blogs/posts/url-slug-exists"): _slug_exists,
    ("GET", "/blogs/authors"): list_("blog_author", "authors", page="offset", default=10),
    ("GET", "/blogs/categories"): list_("blog_category", "categories", page="offset", default=10),
    ("GET", "/blogs/posts/all"): _posts,
    ("GET", "/blogs/site/all"): list_("blog", "data", page="skip", default=10),
    ("POST", "/blogs/posts"): create_("blog_post", "data", extra=_post_extra),
    ("PUT", "/blogs/posts/{postId}"): update_("blog_post", "postId", "updatedBlogPost", "Blog post"),
})
