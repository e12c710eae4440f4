"""GoHighLevel-style webhook events from the sandbox.

Payloads follow ``docs/webhook-events/*.md`` (flat: ``type``, ``locationId`` and the record's
fields; appointments nested under ``appointment``), plus ``timestamp`` and ``webhookId`` as
WebhookAuthentication.md describes. Bodies are signed like GoHighLevel's: ``X-GHL-Signature``
(Ed25519) and ``x-wh-signature`` (RSA-SHA256, PKCS#1 v1.5), base64, over the raw body, with the
sandbox keys of ``keys.py``.

    from connectors.sandbox.events import emit, simulate
    emit(location, "ContactCreate", contact_doc)     # deliver to every subscribed URL
    simulate(location, "InboundMessage")             # fake an event on a demo record
"""
import json
import uuid

import httpx

from . import keys, store
from .models import SandboxEvent

CONTACT = ["id", "address1", "city", "companyName", "country", "source", "dateAdded", "dateOfBirth", "dnd", "email",
           "name", "firstName", "lastName", "phone", "postalCode", "state", "tags", "website", "attachments",
           "assignedTo", "customFields"]
TASK = ["id", "assignedTo", "body", "contactId", "title", "dateAdded", "dueDate"]
NOTE = ["id", "body", "contactId", "dateAdded"]
OPPORTUNITY = ["id", "assignedTo", "contactId", "monetaryValue", "name", "pipelineId", "pipelineStageId", "source",
               "status", "dateAdded"]
APPOINTMENT = ["id", "address", "title", "calendarId", "contactId", "groupId", "appointmentStatus", "assignedUserId",
               "users", "notes", "source", "startTime", "endTime", "dateAdded", "dateUpdated"]
MESSAGE = ["attachments", "body", "contactId", "contentType", "conversationId", "dateAdded", "direction", "messageType",
           "messageId", "status", "userId", "conversationProviderId"]

# event type -> (record kind, payload fields, nested key or None)
EVENTS = {
    "ContactCreate": ("contact", CONTACT, None), "ContactUpdate": ("contact", CONTACT, None),
    "ContactDelete": ("contact", CONTACT, None), "ContactTagUpdate": ("contact", CONTACT, None),
    "ContactDndUpdate": ("contact", CONTACT + ["dndSettings"], None),
    "TaskCreate": ("task", TASK, None), "TaskComplete": ("task", TASK, None), "TaskDelete": ("task", TASK, None),
    "NoteCreate": ("note", NOTE, None), "NoteUpdate": ("note", NOTE, None), "NoteDelete": ("note", NOTE, None),
    "OpportunityCreate": ("opportunity", OPPORTUNITY, None), "OpportunityUpdate": ("opportunity", OPPORTUNITY, None),
    "OpportunityDelete": ("opportunity", OPPORTUNITY, None),
    "OpportunityStageUpdate": ("opportunity", OPPORTUNITY, None),
    "OpportunityStatusUpdate": ("opportunity", OPPORTUNITY, None),
    "OpportunityMonetaryValueUpdate": ("opportunity", OPPORTUNITY, None),
    "OpportunityAssignedToUpdate": ("opportunity", OPPORTUNITY, None),
    "AppointmentCreate": ("event", APPOINTMENT, "appointment"), "AppointmentUpdate": ("event", APPOINTMENT, "appointment"),
    "AppointmentDelete": ("event", APPOINTMENT, "appointment"),
    "InboundMessage": ("message", MESSAGE, None), "OutboundMessage": ("message", MESSAGE, None),
}
MESSAGE_TYPE_NAMES = {"TYPE_SMS": "SMS", "TYPE_EMAIL": "Email", "TYPE_CALL": "CALL", "TYPE_WHATSAPP": "WhatsApp",
                      "TYPE_FACEBOOK": "FB", "TYPE_INSTAGRAM": "IG", "TYPE_GMB": "GMB", "TYPE_LIVE_CHAT": "Live_Chat"}


def payload(location, event_type: str, record: dict) -> dict:
    """The webhook body for ``record`` (a sandbox document) as GoHighLevel would send it."""
    kind, fields, nested = EVENTS[event_type]
    doc = dict(record)
    if kind == "opportunity":
        doc.setdefault("dateAdded", doc.get("createdAt"))
    if kind == "message":
        doc["messageId"] = doc.get("id")
        doc["messageType"] = MESSAGE_TYPE_NAMES.get(doc.get("messageType"), doc.get("messageType"))
    if kind == "contact":
        doc.setdefault("attachments", [])
    body = {k: doc[k] for k in fields if doc.get(k) is not None}
    out = {"type": event_type, "locationId": location.id}
    out.update({nested: body} if nested else body)
    out.update(timestamp=store.now_iso(), webhookId=str(uuid.uuid4()))
    return out


def deliver(location, event_type: str, body: dict) -> list:
    """POST the signed body to each subscription that wants it; log every attempt."""
    raw = json.dumps(body, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "GoHighLevel-Sandbox/1.0", **keys.sign(raw)}
    rows = []
    subs = [s for s in location.subscriptions.all() if s.wants(event_type)]
    for sub in subs:
        status, error = None, ""
        try:
            status = httpx.post(sub.url, content=raw, headers=headers, timeout=3.0).status_code
        except httpx.HTTPError as exc:
            error = str(exc)[:300] or exc.__class__.__name__
        rows.append(SandboxEvent(location=location, event_type=event_type, webhook_id=body["webhookId"],
                                 payload=body, url=sub.url, status=status, error=error))
    if not subs:
        rows.append(SandboxEvent(location=location, event_type=event_type, webhook_id=body["webhookId"], payload=body,
                                 error="no subscription"))
    SandboxEvent.objects.bulk_create(rows)
    return rows


def emit(location, event_type: str, record: dict) -> dict:
    """Build, sign and deliver one event; returns the payload."""
    body = payload(location, event_type, record)
    deliver(location, event_type, body)
    return body


def simulate(location, event_type: str, record_id: str | None = None) -> dict:
    """Emit ``event_type`` for a record (``record_id``, or the newest of the right kind). An
    ``InboundMessage`` without a record id first stores a new inbound SMS from a demo contact."""
    kind = EVENTS[event_type][0]
    if event_type == "InboundMessage" and not record_id:
        conv = store.records(location, "conversation").order_by("-created").first()
        if conv is None:
            raise LookupError("no conversation to receive a message")
        rec = store.put(location, "message", {
            "conversationId": conv.record_id, "contactId": conv.data["contactId"], "body": "Hi, is Thursday at 3pm still free?",
            "direction": "inbound", "type": 2, "messageType": "TYPE_SMS", "contentType": "text/plain", "status": "received",
            "dateAdded": store.now_iso(), "source": "app", "attachments": []}, parent=conv.record_id)
        store.update(conv, {"lastMessageBody": rec.data["body"], "lastMessageType": "TYPE_SMS",
                            "unreadCount": conv.data.get("unreadCount", 0) + 1})
        return emit(location, event_type, rec.data)
    qs = store.records(location, kind)
    rec = qs.filter(record_id=record_id).first() if record_id else qs.order_by("-created", "-id").first()
    if rec is None:
        raise LookupError(f"no {kind} record to simulate {event_type} with")
    if event_type == "TaskComplete":
        store.update(rec, {"completed": True})
    return emit(location, event_type, rec.data)
