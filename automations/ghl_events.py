"""GoHighLevel instant triggers: one trigger operation per webhook event (FACTS.md section 10).

Declared as data, like any connector (listed in settings.FLOWLINE_APP_MODULES as
"automations.ghl_events"; the GoHighLevel `App` itself is declared by connectors.gohighlevel, so
this module adds no app). Events reach flows through automations/ghl_webhooks.py: the app-level
URL (marketplace apps, routed by location) or a flow's own URL (a GoHighLevel workflow's Webhook
action). `extra["event"]` is the `type` value GoHighLevel puts in the body.

Output schemas come from the `json_schema` blocks of docs/webhook-events/*.md, written compactly:
"name" is a string, "name:type" another JSON type, "name:{...}" an object.
"""
from __future__ import annotations

from connectors.spec import TRIGGER, Operation

APPS: list = []

_CONTACT = ("type locationId id address1 city companyName country source dateAdded dateOfBirth dnd:boolean email "
            "name firstName lastName phone postalCode state tags:array website attachments:array assignedTo "
            "customFields:array")
_OPPORTUNITY = ("type locationId id assignedTo contactId monetaryValue:number name pipelineId pipelineStageId source "
                "status dateAdded")
_APPOINTMENT = ("type locationId appointment:{id address title calendarId contactId groupId appointmentStatus "
                "assignedUserId users:array notes source startTime endTime dateAdded dateUpdated}")
_TASK = "type locationId id assignedTo body contactId title dateAdded dueDate"
_MESSAGE = ("type locationId attachments:array body contactId contentType conversationId dateAdded direction "
            "messageType status messageId userId source conversationProviderId callDuration:number callStatus")

# doc name: (type in the body, label, when it fires, fields, record label for the builder)
EVENTS = {
    "ContactCreate": ("ContactCreate", "New contact", "a contact is created", _CONTACT),
    "ContactUpdate": ("ContactUpdate", "Contact updated", "specific fields of a contact change", _CONTACT),
    "ContactTagUpdate": ("ContactTagUpdate", "Contact tags changed", "a contact's tags change (full tags list)", _CONTACT),
    "ContactDelete": ("ContactDelete", "Contact deleted", "a contact is deleted", _CONTACT),
    "ContactDndUpdate": ("ContactDndUpdate", "Contact DND changed", "a contact's Do Not Disturb settings change",
                         _CONTACT + " dndSettings:{SMS:object Email:object GMB:object FB:object WhatsApp:object Call:object}"),
    "OpportunityCreate": ("OpportunityCreate", "New opportunity", "an opportunity is created", _OPPORTUNITY),
    "OpportunityStageUpdate": ("OpportunityStageUpdate", "Opportunity stage changed",
                               "an opportunity moves to another pipeline stage", _OPPORTUNITY),
    "OpportunityStatusUpdate": ("OpportunityStatusUpdate", "Opportunity status changed",
                                "an opportunity is won, lost, abandoned or reopened", _OPPORTUNITY),
    "OpportunityAssignedToUpdate": ("OpportunityAssignedToUpdate", "Opportunity owner changed",
                                    "an opportunity is assigned to another user", _OPPORTUNITY),
    "AppointmentCreate": ("AppointmentCreate", "New appointment", "an appointment is booked", _APPOINTMENT),
    "AppointmentUpdate": ("AppointmentUpdate", "Appointment updated",
                          "an appointment is rescheduled or its status changes", _APPOINTMENT),
    "AppointmentDelete": ("AppointmentDelete", "Appointment deleted", "an appointment is deleted", _APPOINTMENT),
    "TaskCreate": ("TaskCreate", "New task", "a contact task is created", _TASK),
    "TaskComplete": ("TaskComplete", "Task completed", "a contact task is completed", _TASK),
    "NoteCreate": ("NoteCreate", "New note", "a contact note is created", "type locationId id body contactId dateAdded"),
    "InboundMessage": ("InboundMessage", "New inbound message", "a contact sends a message (SMS, email, chat, call…)",
                       _MESSAGE),
    "OutboundMessage": ("OutboundMessage", "New outbound message", "a message is sent to a contact", _MESSAGE),
    "ConversationUnreadWebhook": ("ConversationUnreadUpdate", "Conversation unread status changed",
                                  "a conversation is marked read or unread",
                                  "type locationId id contactId unreadCount:number inbox:boolean starred:boolean "
                                  "deleted:boolean"),
    "InvoicePaid": ("InvoicePaid", "Invoice paid", "an invoice is paid",
                    "_id status liveMode:boolean amountPaid:number altId altType name invoiceNumber currency "
                    "contactDetails:{id phoneNo email name companyName} issueDate dueDate invoiceItems:array "
                    "total:number title amountDue:number createdAt updatedAt"),
    "OrderCreate": ("OrderCreate", "New order", "an order is placed",
                    "type altId altType _id contactId contactSnapshot:object status fulfillmentStatus currency "
                    "amount:number liveMode:boolean items:array amountSummary:object source:object createdAt updatedAt"),
    "CampaignStatusUpdate": ("CampaignStatusUpdate", "Campaign status changed", "a contact's campaign status changes",
                             "type locationId id contactId status templateId replied dateAdded"),
    "LocationCreate": ("LocationCreate", "New sub-account", "a sub-account (location) is created",
                       "type id name email stripeProductId companyId"),
    "UserCreate": ("UserCreate", "New user", "a user is created",
                   "type locationId companyId id firstName lastName email phone extension role permissions:object"),
}


def schema(fields: str) -> dict:
    """The compact field list as a JSON schema (one level of nesting, as in the docs)."""
    props, tokens = {}, fields.replace("{", " { ").replace("}", " } ").split()
    stack = [props]
    for n, token in enumerate(tokens):
        if token == "{":
            continue
        if token == "}":
            stack.pop()
            continue
        name, _, kind = token.partition(":")
        if n + 1 < len(tokens) and tokens[n + 1] == "{":
            inner = {}
            stack[-1][name] = {"type": "object", "properties": inner}
            stack.append(inner)
        else:
            stack[-1][name] = {"type": kind or "string"}
    return {"type": "object", "properties": props}


def operation_key(doc_name: str) -> str:
    return f"gohighlevel.event.{doc_name}"


OPERATIONS = [
    Operation(key=operation_key(name), app="gohighlevel", kind=TRIGGER, category="Instant triggers", label=label,
              description=f"Runs the moment {when} in GoHighLevel (marketplace app webhook, or a GoHighLevel "
                          f"workflow's Webhook action posting to this flow's URL).",
              output_schema=schema(fields), extra={"instant": True, "event": event, "doc": name})
    for name, (event, label, when, fields) in EVENTS.items()
]

BY_EVENT = {op.extra["event"]: op for op in OPERATIONS}  # body `type` -> operation

# "Test trigger" for instant events before any event has arrived: list the account's recent records
# of the event's kind (like a polling trigger's sample) and shape each as the webhook body would be.
SAMPLE_LISTS = {"contact": "gohighlevel.search_contacts"}


def record_kind(op) -> str | None:
    """The kind of record an instant trigger's event is about ("contact"), when the app can list them."""
    doc = (op.extra or {}).get("doc", "") if op is not None else ""
    return "contact" if doc.startswith("Contact") else None


def sample_lister(op):
    """The list operation that yields recent records for this instant trigger's samples, or None."""
    from connectors import registry

    key = SAMPLE_LISTS.get(record_kind(op) or "")
    try:
        return registry.get_operation(key) if key else None
    except LookupError:
        return None


def as_event(op, item: dict, location_id: str = "") -> dict:
    """A listed record as the event body GoHighLevel would send for it (the declared fields only)."""
    fields = (op.output_schema or {}).get("properties") or {}
    body = {"type": op.extra["event"], "locationId": item.get("locationId") or location_id}
    body.update({k: item[k] for k in fields if k not in body and item.get(k) is not None})
    return body
