"""The curated layer: the product sheet's operations, by its names and descriptions, in 14 categories
(FACTS.md section 9), each bound to one exact endpoint of the catalogue.

The sheet lists 124 of the 126 it claims; the two it lacks and agencies use most are added:
"New Form Submission" (a polling trigger: GoHighLevel sends no webhook for forms) and "Send Message".

Two names no single endpoint does are compositions (`handler`, see hooks.py):
- "Find Contact": by id -> GET /contacts/{contactId}; by email or phone -> POST /contacts/search with
  an exact `eq` filter. Answers {found, contact}.
- "Update Message Status" (read/unread): GoHighLevel keeps read state per conversation, so the
  message is fetched for its conversationId and PUT /conversations/{conversationId} sets
  unreadCount 0 (read) or 1 (unread).

Every trigger says how it is polled: the list (or record) endpoint, where the items are
(`pagination.items_path`; an object there is one item), the id and timestamp fields and the order.
Single-record lookups the sheet calls triggers fire when the record changes (dedupe on id + time).
All triggers are also usable as search actions (`extra["kinds"]`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from ..spec import ACTION, BODY, SEARCH, TRIGGER, Pagination, Param, Poll

T, A = TRIGGER, ACTION
FIND_CONTACT = "connectors.gohighlevel.hooks.find_contact"
MESSAGE_STATUS = "connectors.gohighlevel.hooks.update_message_status"
FIND_CONTACT_PARAMS = (
    Param("contactId", BODY, label="Contact id", description="Find by id (takes precedence)"),
    Param("email", BODY, label="Email", description="Find by exact email"),
    Param("phone", BODY, label="Phone", description="Find by exact phone number"),
    Param("locationId", BODY, source="location_id"),
)
MESSAGE_STATUS_PARAMS = (
    Param("messageId", BODY, label="Message id", description="The message whose conversation to mark"),
    Param("conversationId", BODY, label="Conversation id", description="Optional; found from the message otherwise"),
    Param("status", BODY, required=True, enum=("read", "unread"), default="read"),
    Param("locationId", BODY, source="location_id"),
)

# (category, [(kind, sheet name, sheet description, METHOD, path, extras)])
TABLE = [
    ("Contacts", [
        (T, "Get Contact", "Retrieve a specific contact by ID", "GET", "/contacts/{contactId}", {}),
        (T, "Search Contacts", "Advanced search with filters", "POST", "/contacts/search",
         {"poll": Poll("id", "dateAdded", "id", "desc"),
          "poll_inputs": {"sort": [{"field": "dateAdded", "direction": "desc"}], "pageLimit": 100}}),
        (T, "Get Contacts by Business", "Retrieve contacts linked to a business", "GET", "/contacts/business/{businessId}", {}),
        (T, "Get Duplicate Contact", "Check for duplicate contacts", "GET", "/contacts/search/duplicate", {}),
        (T, "List Contacts (Deprecated)", "Legacy contact listing method", "GET", "/contacts/", {}),
        (T, "New Form Submission", "Fires for each new form submission (polled: GoHighLevel sends no form webhook)",
         "GET", "/forms/submissions", {"poll": Poll("id", "createdAt", "id", "desc")}),
        (A, "Create Contact", "Add a new contact to the system", "POST", "/contacts/", {}),
        (A, "Update Contact", "Modify existing contact information", "PUT", "/contacts/{contactId}", {}),
        (A, "Find Contact", "Search by email, phone, or ID", "POST", "/contacts/search",
         {"handler": FIND_CONTACT, "kind": SEARCH, "params": FIND_CONTACT_PARAMS}),
        (A, "Delete Contact", "Remove a contact permanently", "DELETE", "/contacts/{contactId}", {}),
        (A, "Upsert Contact", "Create or update contact automatically", "POST", "/contacts/upsert", {}),
    ]),
    ("Contact Tags & Followers", [
        (A, "Add Tags to Contact", "Tag contacts for organization", "POST", "/contacts/{contactId}/tags", {}),
        (A, "Remove Tags from Contact", "Remove specific tags", "DELETE", "/contacts/{contactId}/tags", {}),
        (A, "Bulk Update Contact Tags", "Add or remove multiple tags at once", "POST", "/contacts/bulk/tags/update/{type}", {}),
        (A, "Add Contact Followers", "Assign followers to contact", "POST", "/contacts/{contactId}/followers", {}),
        (A, "Remove Contact Followers", "Unassign followers", "DELETE", "/contacts/{contactId}/followers", {}),
    ]),
    ("Contact Tasks & Notes", [
        (T, "Get Contact Tasks", "Retrieve all tasks for a contact", "GET", "/contacts/{contactId}/tasks", {}),
        (T, "Get Contact Task by ID", "Get specific task details", "GET", "/contacts/{contactId}/tasks/{taskId}", {}),
        (T, "Get Contact Notes", "List all notes for a contact", "GET", "/contacts/{contactId}/notes", {}),
        (T, "Get Contact Note by ID", "Retrieve specific note details", "GET", "/contacts/{contactId}/notes/{id}", {}),
        (A, "Create Contact Task", "Add a new task for a contact", "POST", "/contacts/{contactId}/tasks", {}),
        (A, "Update Contact Task", "Modify existing task details", "PUT", "/contacts/{contactId}/tasks/{taskId}", {}),
        (A, "Complete Contact Task", "Mark task as complete", "PUT", "/contacts/{contactId}/tasks/{taskId}/completed", {}),
        (A, "Delete Contact Task", "Remove a task permanently", "DELETE", "/contacts/{contactId}/tasks/{taskId}", {}),
        (A, "Create Contact Note", "Add notes to contact records", "POST", "/contacts/{contactId}/notes", {}),
        (A, "Update Contact Note", "Edit existing notes", "PUT", "/contacts/{contactId}/notes/{id}", {}),
        (A, "Delete Contact Note", "Remove notes from contacts", "DELETE", "/contacts/{contactId}/notes/{id}", {}),
    ]),
    ("Campaigns & Workflows", [
        (T, "List Workflows", "Get all workflows", "GET", "/workflows/", {}),
        (T, "List Campaigns", "Get all campaigns", "GET", "/campaigns/", {}),
        (A, "Add Contact to Campaign", "Enroll contact in campaign", "POST", "/contacts/{contactId}/campaigns/{campaignId}", {}),
        (A, "Remove from Campaign", "Remove contact from specific campaign", "DELETE", "/contacts/{contactId}/campaigns/{campaignId}", {}),
        (A, "Remove from All Campaigns", "Unenroll from all campaigns", "DELETE", "/contacts/{contactId}/campaigns/removeAll", {}),
        (A, "Add Contact to Workflow", "Enroll in workflow automation", "POST", "/contacts/{contactId}/workflow/{workflowId}", {}),
        (A, "Remove from Workflow", "Unenroll from workflow", "DELETE", "/contacts/{contactId}/workflow/{workflowId}", {}),
    ]),
    ("Opportunities & Pipelines", [
        (T, "Search Opportunities", "Find opportunities with filters", "GET", "/opportunities/search",
         {"poll_inputs": {"order": "added_desc", "limit": 100}}),
        (T, "Get Opportunity", "Retrieve specific opportunity", "GET", "/opportunities/{id}", {}),
        (T, "List Pipelines", "View all opportunity pipelines", "GET", "/opportunities/pipelines", {}),
        (A, "Create Opportunity", "Add new sales opportunity", "POST", "/opportunities/", {}),
        (A, "Update Opportunity", "Modify opportunity details", "PUT", "/opportunities/{id}", {}),
        (A, "Delete Opportunity", "Remove opportunity", "DELETE", "/opportunities/{id}", {}),
        (A, "Update Opportunity Status", "Change status (open, won, lost)", "PUT", "/opportunities/{id}/status", {}),
        (A, "Upsert Opportunity", "Create or update opportunity", "POST", "/opportunities/upsert", {}),
        (A, "Add Followers", "Assign team members to follow", "POST", "/opportunities/{id}/followers", {}),
        (A, "Remove Followers", "Unassign followers", "DELETE", "/opportunities/{id}/followers", {}),
    ]),
    ("Calendars & Groups", [
        (T, "List Calendar Groups", "Get all calendar groups", "GET", "/calendars/groups", {}),
        (T, "List Calendars", "Retrieve all calendars", "GET", "/calendars/", {}),
        (T, "Get Calendar by ID", "Get specific calendar details", "GET", "/calendars/{calendarId}", {}),
        (T, "Get Free Slots", "Check calendar availability", "GET", "/calendars/{calendarId}/free-slots", {"items": ""}),
        (A, "Create Calendar Group", "Set up new calendar group", "POST", "/calendars/groups", {}),
        (A, "Update Calendar Group", "Modify calendar group settings", "PUT", "/calendars/groups/{groupId}", {}),
        (A, "Update Group Status", "Enable or disable calendar group", "PUT", "/calendars/groups/{groupId}/status", {}),
        (A, "Delete Calendar Group", "Remove calendar group", "DELETE", "/calendars/groups/{groupId}", {}),
        (A, "Validate Group Slug", "Check if slug is available", "POST", "/calendars/groups/validate-slug", {}),
        (A, "Create Calendar", "Add new calendar", "POST", "/calendars/", {}),
        (A, "Update Calendar", "Modify calendar settings", "PUT", "/calendars/{calendarId}", {}),
        (A, "Delete Calendar", "Remove calendar permanently", "DELETE", "/calendars/{calendarId}", {}),
    ]),
    ("Appointments & Calendar Events", [
        (T, "Get Contact Appointments", "List all appointments for a contact", "GET", "/contacts/{contactId}/appointments", {}),
        (T, "List Calendar Events", "Get all scheduled events", "GET", "/calendars/events", {}),
        (T, "List Blocked Slots", "View unavailable time slots", "GET", "/calendars/blocked-slots", {}),
        (T, "Get Appointment", "Retrieve appointment details", "GET", "/calendars/events/appointments/{eventId}", {}),
        (T, "List Appointment Notes", "Get notes for appointments", "GET", "/calendars/appointments/{appointmentId}/notes", {}),
        (A, "Create Appointment", "Book new appointment", "POST", "/calendars/events/appointments", {}),
        (A, "Update Appointment", "Modify appointment details", "PUT", "/calendars/events/appointments/{eventId}", {}),
        (A, "Delete Event", "Cancel and remove event", "DELETE", "/calendars/events/{eventId}", {}),
        (A, "Create Block Slot", "Block time on calendar", "POST", "/calendars/events/block-slots", {}),
        (A, "Update Block Slot", "Modify blocked time", "PUT", "/calendars/events/block-slots/{eventId}", {}),
        (A, "Create Appointment Note", "Add notes to appointments", "POST", "/calendars/appointments/{appointmentId}/notes", {}),
        (A, "Update Appointment Note", "Edit appointment notes", "PUT", "/calendars/appointments/{appointmentId}/notes/{noteId}", {}),
        (A, "Delete Appointment Note", "Remove appointment notes", "DELETE", "/calendars/appointments/{appointmentId}/notes/{noteId}", {}),
    ]),
    ("Calendar Notifications & Resources", [
        (T, "List Calendar Notifications", "View notification settings", "GET", "/calendars/{calendarId}/notifications", {}),
        (T, "Get Calendar Notification", "Get specific notification", "GET", "/calendars/{calendarId}/notifications/{notificationId}", {}),
        (T, "List Calendar Resources", "View rooms and equipment", "GET", "/calendars/resources/{resourceType}", {}),
        (T, "Get Calendar Resource", "Get specific resource details", "GET", "/calendars/resources/{resourceType}/{id}", {}),
        (A, "Create Calendar Notification", "Set up reminders", "POST", "/calendars/{calendarId}/notifications", {}),
        (A, "Update Notification", "Modify notification settings", "PUT", "/calendars/{calendarId}/notifications/{notificationId}", {}),
        (A, "Delete Notification", "Remove notification", "DELETE", "/calendars/{calendarId}/notifications/{notificationId}", {}),
        (A, "Create Calendar Resource", "Add room or equipment", "POST", "/calendars/resources/{resourceType}", {}),
        (A, "Update Calendar Resource", "Modify resource details", "PUT", "/calendars/resources/{resourceType}/{id}", {}),
        (A, "Delete Calendar Resource", "Remove resource", "DELETE", "/calendars/resources/{resourceType}/{id}", {}),
    ]),
    ("Conversations & Messages", [
        (T, "Search Conversations", "Find conversations by filters", "GET", "/conversations/search",
         {"poll": Poll("id", "lastMessageDate", "id_time", "desc"), "poll_inputs": {"sort": "desc", "sortBy": "last_message_date"}}),
        (T, "Get Conversation", "Retrieve conversation details", "GET", "/conversations/{conversationId}", {}),
        (T, "Get Email by ID", "Retrieve specific email", "GET", "/conversations/messages/email/{id}", {}),
        (T, "Get Message by ID", "Get specific message details", "GET", "/conversations/messages/{id}", {}),
        (T, "Get Messages by Conversation", "List all conversation messages", "GET", "/conversations/{conversationId}/messages", {}),
        (T, "Get Message Recording", "Retrieve voice recording", "GET", "/conversations/messages/{messageId}/locations/{locationId}/recording", {}),
        (T, "Get Message Transcription", "Get transcribed message text", "GET", "/conversations/locations/{locationId}/messages/{messageId}/transcription", {}),
        (T, "Download Transcription", "Download transcription file", "GET", "/conversations/locations/{locationId}/messages/{messageId}/transcription/download", {}),
        (A, "Update Message Status", "Change message read/unread status", "PUT", "/conversations/{conversationId}",
         {"handler": MESSAGE_STATUS, "params": MESSAGE_STATUS_PARAMS}),
        (A, "Agent Typing Indicator", "Show typing indicator in chat", "POST", "/conversations/providers/live-chat/typing", {}),
        (A, "Send Message", "Send an SMS or email to a contact through conversations", "POST", "/conversations/messages", {}),
    ]),
    ("Users", [
        (T, "Search Users", "Find users with filters", "GET", "/users/search", {}),
        (T, "Filter Users by Email", "Search users by email address", "POST", "/users/search/filter-by-email", {}),
        (T, "Get User", "Retrieve user details", "GET", "/users/{userId}", {}),
        (T, "List Users by Location", "Get users in specific location", "GET", "/users/", {}),
        (A, "Create User", "Add new user to system", "POST", "/users/", {}),
        (A, "Update User", "Modify user information", "PUT", "/users/{userId}", {}),
        (A, "Delete User", "Remove user from system", "DELETE", "/users/{userId}", {}),
    ]),
    ("Businesses", [
        (T, "Get Business", "Retrieve business details", "GET", "/businesses/{businessId}", {}),
        (T, "List Businesses by Location", "Get all businesses in location", "GET", "/businesses/", {}),
        (A, "Create Business", "Add new business", "POST", "/businesses/", {}),
        (A, "Update Business", "Modify business details", "PUT", "/businesses/{businessId}", {}),
        (A, "Delete Business", "Remove business", "DELETE", "/businesses/{businessId}", {}),
        (A, "Bulk Business Update", "Add/remove contacts from business", "POST", "/contacts/bulk/business", {}),
    ]),
    ("Agency & Sub-Accounts", [
        (T, "List Locations", "Get all locations", "GET", "/locations/search", {}),
        (T, "List Custom Fields", "View custom field definitions", "GET", "/locations/{locationId}/customFields", {}),
        (T, "Get Company", "Retrieve company information", "GET", "/companies/{companyId}", {}),
        (T, "List Snapshots", "View available snapshots", "GET", "/snapshots/", {}),
        (A, "Find Location by ID", "Retrieve location details", "GET", "/locations/{locationId}", {"kind": SEARCH}),
        (A, "Create Location", "Add new location", "POST", "/locations/", {}),
    ]),
    ("Custom Objects: Associations & Relations", [
        (T, "Find Associations", "Search associations", "GET", "/associations/", {}),
        (T, "Get Association", "Retrieve association details", "GET", "/associations/{associationId}", {}),
        (T, "Get Association Key", "Get key by name", "GET", "/associations/key/{key_name}", {}),
        (T, "Get Association by Keys", "Find by object keys", "GET", "/associations/objectKey/{objectKey}", {}),
        (T, "Get Relations by Record", "List record relations", "GET", "/associations/relations/{recordId}", {}),
        (A, "Create Association", "Link related records", "POST", "/associations/", {}),
        (A, "Update Association", "Modify association", "PUT", "/associations/{associationId}", {}),
        (A, "Delete Association", "Remove association", "DELETE", "/associations/{associationId}", {}),
        (A, "Create Relation", "Establish record relation", "POST", "/associations/relations", {}),
        (A, "Delete Relation", "Remove record relation", "DELETE", "/associations/relations/{relationId}", {}),
    ]),
    ("Blogs", [
        (T, "Check Blog URL Slug", "Verify slug availability", "GET", "/blogs/posts/url-slug-exists", {}),
        (T, "Get Blog Authors", "List blog authors", "GET", "/blogs/authors", {}),
        (T, "Get Blog Categories", "List blog categories", "GET", "/blogs/categories", {}),
        (T, "Get Blog Posts", "List posts by blog", "GET", "/blogs/posts/all", {}),
        (T, "Get Blogs by Location", "List location blogs", "GET", "/blogs/site/all", {}),
        (A, "Create Blog Post", "Publish new blog post", "POST", "/blogs/posts", {}),
        (A, "Update Blog Post", "Edit blog post", "PUT", "/blogs/posts/{postId}", {}),
    ]),
]

ID_FIELDS = ("id", "_id", "key", "slug")
TIME_FIELDS = ("dateUpdated", "updatedAt", "dateAdded", "createdAt", "startTime", "date", "publishedAt")


def key_for(name: str) -> str:
    return "gohighlevel." + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _items(entry: dict) -> tuple[str, dict]:
    """Where the items of a response are, and the item schema: the only top-level array, else the
    only top-level object (a single record), else the response itself."""
    props = (entry["output_schema"] or {}).get("properties") or {}
    if any(f in props for f in ID_FIELDS):
        return "", entry["output_schema"]
    for wanted in ("array", "object"):
        found = [k for k, v in props.items() if v.get("type") == wanted or (wanted == "object" and "properties" in v)]
        if len(found) == 1:
            schema = props[found[0]]
            return found[0], (schema.get("items") or {}) if wanted == "array" else schema
    return "", entry["output_schema"] or {}


def poll_for(entry: dict, items_path: str | None = None) -> tuple[Poll, Pagination]:
    """A poll declaration inferred from the response schema (id and timestamp fields)."""
    path, item = _items(entry)
    if items_path is not None:
        path = items_path
    fields = (item.get("properties") or {}).keys()
    id_field = next((f for f in ID_FIELDS if f in fields), "id")
    time_field = next((f for f in TIME_FIELDS if f in fields), "")
    is_list = path and (entry["output_schema"] or {}).get("properties", {}).get(path, {}).get("type") == "array"
    dedupe = "id_time" if time_field and not is_list else "id"
    pagination = entry.get("pagination")
    from . import pagination_for

    return (Poll(id_field, time_field, dedupe, "any"),
            pagination_for(entry) if pagination else Pagination("none", items_path=path))


def curated_operations(entries: Iterable[dict] | None = None) -> list:
    """The curated operations, in TABLE order, built from `entries` (default: the catalogue's), read
    once and in any order: each row is built when its endpoint's entry goes by."""
    from . import _entries

    rows = {}
    for category, table_rows in TABLE:
        for row in table_rows:
            rows.setdefault((row[3], row[4]), []).append((category, row))
    built = {}
    for entry in _entries() if entries is None else entries:
        for category, row in rows.get((entry["method"], entry["path"]), ()):
            built[row[1]] = _curated_operation(entry, category, *row)
    missing = [f"{method} {path}" for _, table_rows in TABLE for _, name, _, method, path, _ in table_rows
               if name not in built]
    if missing:
        raise LookupError(f"no GoHighLevel operation {', '.join(missing)}")
    return [built[row[1]] for _, table_rows in TABLE for row in table_rows]


def _curated_operation(entry: dict, category: str, kind, name, description, method, path, extra):
    from . import spec_operation

    changes = dict(key=key_for(name), label=name, description=description, category=category,
                   kind=extra.get("kind", kind), curated=True, handler=extra.get("handler"))
    if "params" in extra:
        changes.update(params=extra["params"], pagination=None)
    op_extra = {}
    if kind == TRIGGER:
        poll, pagination = poll_for(entry, extra.get("items"))
        changes.update(poll=extra.get("poll", poll), pagination=pagination)
        op_extra = {"kinds": [TRIGGER, SEARCH], "poll_inputs": extra.get("poll_inputs", {})}
    op = spec_operation(entry, **changes)
    op.extra.update(op_extra)
    return op
