"""Hand-kept fixes for known defects of the official OpenAPI files (FACTS.md section 11).

`generate.py` applies these while building `catalogue.json`; the generated file is never edited by
hand. Every entry is keyed by (spec file, METHOD, path) so a fix cannot drift onto another
operation, and the generator fails if an entry no longer matches the spec.
"""
from __future__ import annotations

# Path parameters used in the path template but missing from `parameters`.
UNDECLARED_PATH_PARAMS = {
    ("contacts", "POST", "/contacts/bulk/tags/update/{type}"): {
        "type": {"description": "add or remove", "schema": {"type": "string", "enum": ["add", "remove"]}},
    },
    ("calendars", "PUT", "/calendars/appointments/{appointmentId}/notes/{noteId}"): {"noteId": {"description": "Note Id"}},
    ("calendars", "DELETE", "/calendars/appointments/{appointmentId}/notes/{noteId}"): {"noteId": {"description": "Note Id"}},
    ("users", "PUT", "/users/{userId}"): {"userId": {"description": "User Id"}},
    ("users", "DELETE", "/users/{userId}"): {"userId": {"description": "User Id"}},
    ("conversations", "GET", "/conversations/messages/{id}"): {"id": {"description": "Message Id"}},
    ("conversations", "GET", "/conversations/messages/email/{id}"): {"id": {"description": "Email message Id"}},
    ("blogs", "PUT", "/blogs/posts/{postId}"): {"postId": {"description": "Blog post Id"}},
    ("ad-manager", "POST", "/ad-publishing/linkedin/{accountId}/form"): {"accountId": {"description": "LinkedIn account Id"}},
    ("locations", "GET", "/locations/{locationId}/timezones"): {"locationId": {"description": "Location Id"}},
    ("social-media-posting", "POST", "/social-media-posting/{locationId}/posts/bulk-delete"): {
        "locationId": {"description": "Location Id"},
    },
}

# operationIds that are wrong or reused for a different operation (keys are namespaced by file,
# but the bulk-tags operation is literally called "create-association").
OPERATION_IDS = {
    ("contacts", "POST", "/contacts/bulk/tags/update/{type}"): "update-contacts-tags",
}

# Request bodies the spec leaves empty. POST /contacts/search is documented only in an external
# page (fields below, FACTS.md section 6); DELETE /calendars/events/{eventId} needs `{}`.
BODY_SCHEMAS = {
    ("contacts", "POST", "/contacts/search"): {
        "type": "object",
        "required": ["locationId"],
        "properties": {
            "locationId": {"type": "string", "description": "Location Id"},
            "query": {"type": "string", "description": "Free-text search (name, email, phone...)"},
            "page": {"type": "number", "description": "Page number (page-based paging, up to 10,000 records)"},
            "pageLimit": {"type": "number", "description": "Results per page (max 500)"},
            "searchAfter": {"type": "array", "description": "Cursor from the last contact's searchAfter"},
            "filters": {"type": "array", "description": "Filters, e.g. [{field: 'email', operator: 'eq', value: '...'}]"},
            "sort": {"type": "array", "description": "Sort, e.g. [{field: 'dateAdded', direction: 'desc'}]"},
        },
    },
}

# DELETEs whose JSON body is required even when the user gives no field: send this default.
DELETE_BODY_DEFAULTS = {
    ("calendars", "DELETE", "/calendars/events/{eventId}"): {},
}

# Operations without a `Version` header in the spec that need one anyway (inferred, FACTS.md 2).
VERSIONS = {
    ("conversations", "GET", "/conversations/messages/email/{id}"): "2021-04-15",
    ("conversations", "DELETE", "/conversations/messages/email/{emailMessageId}/schedule"): "2021-04-15",
}

# Scopes the spec does not declare (inferred, FACTS.md section 4).
SCOPES = {
    ("contacts", "POST", "/contacts/bulk/tags/update/{type}"): ["contacts.write"],
    ("contacts", "POST", "/contacts/bulk/business"): ["contacts.write"],
    ("conversations", "GET", "/conversations/messages/email/{id}"): ["conversations/message.readonly"],
    ("snapshots", "GET", "/snapshots/"): ["snapshots.readonly"],
}

# Pagination the generator cannot infer from parameter names (FACTS.md section 6).
PAGINATION = {
    ("contacts", "GET", "/contacts/"): {
        "style": "cursor", "items_path": "contacts", "cursor_param": "startAfterId",
        "cursor_path": "meta.startAfterId", "extra_cursor": [["startAfter", "meta.startAfter"]], "page_size": 100,
    },
    ("opportunities", "GET", "/opportunities/search"): {
        "style": "cursor", "items_path": "opportunities", "cursor_param": "startAfterId",
        "cursor_path": "meta.startAfterId", "extra_cursor": [["startAfter", "meta.startAfter"]], "page_size": 100,
    },
    ("conversations", "GET", "/conversations/search"): {
        "style": "cursor", "items_path": "conversations", "cursor_param": "startAfterDate",
        "cursor_path": "$last.sort.0", "page_size": 100,
    },
    ("conversations", "GET", "/conversations/{conversationId}/messages"): {
        "style": "cursor", "items_path": "messages.messages", "cursor_param": "lastMessageId",
        "cursor_path": "messages.lastMessageId", "page_size": 100,
    },
    ("contacts", "POST", "/contacts/search"): {
        "style": "page", "items_path": "contacts", "page_param": "page", "limit_param": "pageLimit",
        "page_size": 100, "in_body": True,
    },
    ("opportunities", "POST", "/opportunities/search"): {
        "style": "page", "items_path": "opportunities", "page_param": "page", "limit_param": "limit",
        "page_size": 100, "in_body": True,
    },
}

# Time-window lists whose items carry no cursor and need no paging.
NO_PAGINATION = {
    ("calendars", "GET", "/calendars/events"),
    ("calendars", "GET", "/calendars/blocked-slots"),
}
