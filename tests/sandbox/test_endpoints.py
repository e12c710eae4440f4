"""Every supported endpoint, called with a valid request, answers its documented success status and
a body that validates against the official response schema: the sandbox cannot drift from the
real API without this test failing."""
import pytest

from connectors.sandbox import handlers, spec, store
from tests.sandbox.conftest import Ghl

handlers.load_routes()

# The official documents describe these responses wrongly (a single association object for what
# are lists / deletions); the sandbox answers like the live API and the test checks the status only.
SPEC_DEFECTS = {("GET", "/associations/"), ("GET", "/associations/relations/{recordId}"),
                ("DELETE", "/associations/relations/{relationId}")}
NOT_JSON = {("GET", "/conversations/messages/{messageId}/locations/{locationId}/recording"),
            ("GET", "/conversations/locations/{locationId}/messages/{messageId}/transcription/download")}


class Seeded:
    """Ids from the demo data, for building requests."""

    def __init__(self, location):
        self.loc = location
        first = lambda kind, **m: store.docs(location, kind, **m)[0]  # noqa: E731
        task = first("task")
        notes = [n for n in store.docs(location, "note")]
        self.contact = task["contactId"]
        self.task = task["id"]
        self.note = next((n["id"] for n in notes if n["contactId"] == self.contact), None)
        if self.note is None:
            self.note = store.put(location, "note", {"body": "x", "contactId": self.contact, "dateAdded": store.now_iso()},
                                  parent=self.contact).record_id
        self.business = first("business")["id"]
        self.campaign = first("campaign")["id"]
        self.workflow = first("workflow")["id"]
        self.opportunity = first("opportunity")["id"]
        self.pipeline = first("pipeline")
        self.group = first("calendar_group")["id"]
        self.calendar = first("calendar")["id"]
        events = store.docs(location, "event")
        self.appointment = next(e["id"] for e in events if e["eventKind"] == "appointment")
        self.block = next(e["id"] for e in events if e["eventKind"] == "block")
        self.appt_note = store.put(location, "appointment_note", {"body": "Bring the brand guide", "dateAdded": store.now_iso()},
                                   parent=self.appointment).record_id
        self.notification = first("notification")["id"]
        self.resource = first("resource", resourceType="rooms")["id"]
        self.conversation = first("conversation")["id"]
        msgs = store.docs(location, "message")
        self.message = msgs[0]["id"]
        self.email = next(m["id"] for m in msgs if m["messageType"] == "TYPE_EMAIL")
        self.user = first("user")["id"]
        self.association = first("association")
        self.relation = store.put(location, "relation", {**{k: self.association[k] for k in (
            "key", "firstObjectKey", "firstObjectLabel", "secondObjectKey", "secondObjectLabel", "associationType")},
            "associationId": self.association["id"], "firstRecordId": self.contact, "secondRecordId": self.business}).record_id
        self.post = first("blog_post")
        self.blog = first("blog")["id"]

    def path_value(self, template, name):
        by_template = {
            ("/contacts/{contactId}/notes/{id}", "id"): self.note,
            ("/opportunities/{id}", "id"): self.opportunity, ("/opportunities/{id}/status", "id"): self.opportunity,
            ("/opportunities/{id}/followers", "id"): self.opportunity,
            ("/calendars/resources/{resourceType}/{id}", "id"): self.resource,
            ("/conversations/messages/{id}", "id"): self.message,
            ("/conversations/messages/email/{id}", "id"): self.email,
            ("/calendars/events/block-slots/{eventId}", "eventId"): self.block,
        }
        if (template, name) in by_template:
            return by_template[(template, name)]
        return {
            "contactId": self.contact, "taskId": self.task, "businessId": self.business, "campaignId": self.campaign,
            "workflowId": self.workflow, "groupId": self.group, "calendarId": self.calendar,
            "eventId": self.appointment, "appointmentId": self.appointment, "noteId": self.appt_note,
            "notificationId": self.notification, "resourceType": "rooms", "conversationId": self.conversation,
            "messageId": self.message, "locationId": self.loc.id, "userId": self.user, "companyId": self.loc.company_id,
            "associationId": self.association["id"], "key_name": self.association["key"],
            "objectKey": self.association["firstObjectKey"], "recordId": self.contact, "relationId": self.relation,
            "postId": self.post["id"], "type": "add",
        }[name]

    def query_value(self, name):
        start = 1735689600000  # 2025-01-01
        return {"locationId": self.loc.id, "location_id": self.loc.id, "companyId": self.loc.company_id,
                "startTime": start, "endTime": start + 365 * 86400_000, "limit": 10, "skip": 0, "offset": 0,
                "blogId": self.blog, "urlSlug": "brand-new-slug", "contactId": self.contact}.get(name)

    def body(self, method, template):
        loc, now = self.loc.id, "2025-03-10T15:00:00.000Z"
        return {
            ("POST", "/contacts/"): {"locationId": loc, "firstName": "Dana", "lastName": "Whitfield",
                                     "email": "dana.whitfield@example.com", "phone": "+15125559876", "tags": ["webinar"]},
            ("PUT", "/contacts/{contactId}"): {"firstName": "Updated", "tags": ["vip"]},
            ("POST", "/contacts/upsert"): {"locationId": loc, "email": "new.person@example.com", "firstName": "New"},
            ("POST", "/contacts/search"): {"locationId": loc, "page": 1, "pageLimit": 5,
                                           "filters": [{"field": "tags", "operator": "eq", "value": "lead"}]},
            ("POST", "/contacts/{contactId}/tags"): {"tags": ["hot-lead"]},
            ("DELETE", "/contacts/{contactId}/tags"): {"tags": ["lead"]},
            ("POST", "/contacts/{contactId}/followers"): {"followers": [self.user]},
            ("DELETE", "/contacts/{contactId}/followers"): {"followers": [self.user]},
            ("POST", "/contacts/bulk/tags/update/{type}"): {"locationId": loc, "contacts": [self.contact], "tags": ["promo"]},
            ("POST", "/contacts/{contactId}/tasks"): {"title": "Call", "body": "Ask about budget", "dueDate": now, "completed": False},
            ("PUT", "/contacts/{contactId}/tasks/{taskId}"): {"title": "Call again"},
            ("PUT", "/contacts/{contactId}/tasks/{taskId}/completed"): {"completed": True},
            ("POST", "/contacts/{contactId}/notes"): {"body": "Loves the new landing page"},
            ("PUT", "/contacts/{contactId}/notes/{id}"): {"body": "Edited note"},
            ("POST", "/contacts/{contactId}/campaigns/{campaignId}"): {},
            ("POST", "/contacts/{contactId}/workflow/{workflowId}"): {"eventStartTime": now},
            ("DELETE", "/contacts/{contactId}/workflow/{workflowId}"): {},
            ("POST", "/opportunities/"): {"locationId": loc, "pipelineId": self.pipeline["id"], "name": "New deal",
                                          "status": "open", "contactId": self.contact, "monetaryValue": 2500},
            ("PUT", "/opportunities/{id}"): {"pipelineStageId": self.pipeline["stages"][2]["id"]},
            ("PUT", "/opportunities/{id}/status"): {"status": "won"},
            ("POST", "/opportunities/upsert"): {"locationId": loc, "pipelineId": self.pipeline["id"], "contactId": self.contact,
                                                "name": "Upserted deal", "status": "open", "followers": [],
                                                "isRemoveAllFollowers": False, "followersActionType": "add"},
            ("POST", "/opportunities/{id}/followers"): {"followers": [self.user]},
            ("DELETE", "/opportunities/{id}/followers"): {"followers": [self.user]},
            ("POST", "/calendars/groups"): {"locationId": loc, "name": "Support", "description": "Support calls", "slug": "support"},
            ("POST", "/calendars/groups/validate-slug"): {"locationId": loc, "slug": "support"},
            ("PUT", "/calendars/groups/{groupId}"): {"name": "Sales", "description": "Renamed", "slug": "sales"},
            ("PUT", "/calendars/groups/{groupId}/status"): {"isActive": False},
            ("POST", "/calendars/"): {"locationId": loc, "name": "Strategy Session"},
            ("PUT", "/calendars/{calendarId}"): {"name": "Discovery Call (30 min)"},
            ("POST", "/calendars/events/appointments"): {"calendarId": self.calendar, "locationId": loc,
                                                         "contactId": self.contact, "startTime": "2025-03-11T16:00:00Z"},
            ("PUT", "/calendars/events/appointments/{eventId}"): {"appointmentStatus": "confirmed"},
            ("POST", "/calendars/events/block-slots"): {"calendarId": self.calendar, "locationId": loc, "title": "Lunch",
                                                        "startTime": now, "endTime": "2025-03-10T16:00:00.000Z"},
            ("PUT", "/calendars/events/block-slots/{eventId}"): {"title": "Long lunch", "calendarId": self.calendar,
                                                                 "locationId": loc},
            ("DELETE", "/calendars/events/{eventId}"): {},
            ("POST", "/calendars/appointments/{appointmentId}/notes"): {"body": "Prep the audit"},
            ("PUT", "/calendars/appointments/{appointmentId}/notes/{noteId}"): {"body": "Edited"},
            ("POST", "/calendars/{calendarId}/notifications"): [{"receiverType": "contact", "channel": "email",
                                                                 "notificationType": "booked"}],
            ("PUT", "/calendars/{calendarId}/notifications/{notificationId}"): {"isActive": False},
            ("POST", "/calendars/resources/{resourceType}"): {"locationId": loc, "name": "Room B", "description": "Small room",
                                                              "quantity": 1, "outOfService": 0, "capacity": 3,
                                                              "calendarIds": [self.calendar]},
            ("PUT", "/calendars/resources/{resourceType}/{id}"): {"name": "Room A+"},
            ("POST", "/conversations/messages"): {"type": "SMS", "contactId": self.contact, "message": "Hi there!",
                                                  "subType": "SMS", "status": "pending"},
            ("PUT", "/conversations/messages/{messageId}/status"): {"status": "read"},
            ("POST", "/conversations/providers/live-chat/typing"): {"locationId": loc, "isTyping": "true",
                                                                    "visitorId": "v1", "conversationId": self.conversation},
            ("POST", "/users/search/filter-by-email"): {"companyId": self.loc.company_id, "emails": "rachel@brightside.example"},
            ("POST", "/users/"): {"companyId": self.loc.company_id, "firstName": "Tom", "lastName": "Rivera",
                                  "email": "tom@brightside.example", "password": "s3cret!pass", "type": "account",
                                  "role": "user", "locationIds": [loc]},
            ("PUT", "/users/{userId}"): {"phone": "+15125550177"},
            ("POST", "/businesses/"): {"locationId": loc, "name": "Lakeside Yoga"},
            ("PUT", "/businesses/{businessId}"): {"name": "Sunrise Dental Group"},
            ("POST", "/locations/"): {"name": "Second Client", "companyId": self.loc.company_id},
            ("POST", "/associations/"): {"locationId": loc, "key": "contact_opportunity", "firstObjectKey": "contact",
                                         "firstObjectLabel": "Contact", "secondObjectKey": "opportunity",
                                         "secondObjectLabel": "Opportunity"},
            ("PUT", "/associations/{associationId}"): {"firstObjectLabel": "Person", "secondObjectLabel": "Company"},
            ("POST", "/associations/relations"): {"locationId": loc, "associationId": self.association["id"],
                                                  "firstRecordId": self.contact, "secondRecordId": self.business},
            ("POST", "/blogs/posts"): {"title": "Spring SEO checklist", "locationId": loc, "blogId": self.blog,
                                       "imageUrl": "https://example.com/a.jpg", "description": "Checklist",
                                       "rawHTML": "<p>Hi</p>", "status": "DRAFT", "imageAltText": "alt",
                                       "categories": [], "author": "", "urlSlug": "spring-seo", "publishedAt": now},
            ("PUT", "/blogs/posts/{postId}"): {"title": "5 local SEO wins", "locationId": loc, "blogId": self.blog,
                                               "imageUrl": self.post["imageUrl"], "description": "d", "rawHTML": "<p/>",
                                               "status": "PUBLISHED", "imageAltText": "a", "categories": [], "author": "",
                                               "urlSlug": self.post["urlSlug"], "publishedAt": now},
        }.get((method, template))

    def request(self, op):
        path = op.template
        for name in op.regex.groupindex:
            path = path.replace("{%s}" % name, self.path_value(op.template, name))
        query = {p["name"]: self.query_value(p["name"]) for p in op.params("query") if p.get("required")}
        if op.template == "/calendars/events" or op.template == "/calendars/blocked-slots":
            query["calendarId"] = self.calendar
        if op.template == "/calendars/{calendarId}/free-slots":
            query.update(startDate=1741564800000, endDate=1741564800000 + 6 * 86400_000, timezone="America/Chicago")
        if op.template == "/contacts/search/duplicate":
            query.update(locationId=self.loc.id, email=store.docs(self.loc, "contact")[0]["email"])
        return path, query, self.body(op.method, op.template)


ROUTE_KEYS = sorted(handlers.ROUTES)


@pytest.mark.parametrize("method,template", ROUTE_KEYS, ids=[f"{m} {t}" for m, t in ROUTE_KEYS])
def test_endpoint_answers_with_documented_schema(client, sbx, method, template):
    location, token = sbx
    op = spec.lookup(method, template)
    agency = (op.security or [{}])[0].keys() == {"Agency-Access"}
    tok = store.token_for(location, "Company" if agency else "Location").token
    ghl = Ghl(client, tok, version=op.versions[0] if op.versions else "2021-04-15")
    path, query, body = Seeded(location).request(op)
    resp = ghl(method, path, body=body, query=query)
    assert resp.status_code == op.success_status(), resp.content[:600]
    if (method, template) in NOT_JSON:
        assert resp.content
        return
    if (method, template) not in SPEC_DEFECTS:
        errors = spec.validate_response(op, resp.status_code, resp.json())
        assert not errors, errors[:5]


def test_every_route_is_a_spec_operation():
    assert all(spec.lookup(m, t) for m, t in handlers.ROUTES)
    assert len(handlers.ROUTES) >= 120


def test_uncurated_operation_is_501(ghl, sbx):
    resp = ghl("GET", "/invoices/", query={"altId": sbx[0].id, "altType": "location", "limit": "10", "offset": "0"})
    assert resp.status_code in (501, 403)
    resp = ghl("GET", "/opportunities/lost-reason", query={"locationId": sbx[0].id})
    assert resp.status_code == 501
    assert resp.json()["statusCode"] == 501 and "curated" in resp.json()["message"]
