"""Headers, auth, scopes, validation, pagination, rate limits, location isolation and reset."""
from django.test import override_settings

from connectors.sandbox import store
from connectors.sandbox.models import SandboxRequest


def test_missing_or_bad_token_is_401(ghl, sbx):
    for token in ("", "nope"):
        resp = ghl("GET", "/contacts/", query={"locationId": sbx[0].id}, token=token)
        assert resp.status_code == 401
        assert resp.json() == {"statusCode": 401, "message": "Invalid token: access token is invalid", "error": "Unauthorized"}


def test_version_header_required_and_checked(ghl, sbx):
    q = {"locationId": sbx[0].id}
    for version in ("", "2099-01-01"):
        resp = ghl("GET", "/contacts/", query=q, version=version)
        assert resp.status_code == 400
        assert resp.json() == {"statusCode": 400, "message": "version header was not found"}
    assert ghl("GET", "/contacts/", query=q, version="2021-04-15").status_code == 200
    assert ghl("GET", "/calendars/", query=q, version="2021-04-15").status_code == 200


def test_scopes_are_enforced(client, sbx):
    from tests.sandbox.conftest import Ghl
    location = sbx[0]
    reader = store.issue_token(location, scopes=["contacts.readonly"])
    g = Ghl(client, reader.token)
    assert g("GET", "/contacts/", query={"locationId": location.id}).status_code == 200
    resp = g("POST", "/contacts/", body={"locationId": location.id, "firstName": "X"})
    assert resp.status_code == 403
    assert resp.json() == {"statusCode": 403, "message": "The token is not authorized for this scope."}
    # an agency-only route with a sub-account token: wrong auth class
    resp = Ghl(client, sbx[1].token)("GET", "/snapshots/", query={"companyId": location.company_id})
    assert resp.status_code == 401


def test_request_validation_422_and_400(ghl, sbx):
    resp = ghl("POST", "/contacts/", body={"firstName": 5})
    assert resp.status_code == 422
    body = resp.json()
    assert body["error"] == "Unprocessable Entity" and body["statusCode"] == 422
    assert "locationId should not be empty" in body["message"] and "firstName must be a string" in body["message"]
    resp = ghl("GET", "/calendars/events", query={"locationId": sbx[0].id}, version="2021-04-15")
    assert resp.status_code == 422 and "startTime should not be empty" in resp.json()["message"]
    bad = ghl.client.generic("POST", "/sandbox/gohighlevel/contacts/", "{nope", content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {ghl.token}", HTTP_VERSION="2021-07-28")
    assert bad.status_code == 400 and bad.json()["statusCode"] == 400


def test_not_found_and_other_location(ghl, sbx):
    resp = ghl("GET", "/contacts/NoSuchContact0000000")
    assert resp.status_code == 404 and resp.json()["message"] == "Contact not found"
    other, _ = store.create_location("Other Agency Client", seed=False)
    resp = ghl("GET", "/contacts/", query={"locationId": other.id})
    assert resp.status_code == 403
    # records of another location are invisible
    cid = store.docs(sbx[0], "contact")[0]["id"]
    assert ghl("GET", f"/contacts/{cid}").status_code == 200
    from tests.sandbox.conftest import Ghl
    other_token = store.token_for(other).token
    assert Ghl(ghl.client, other_token)("GET", f"/contacts/{cid}").status_code == 404


def test_ids_look_like_ghl(ghl, sbx):
    resp = ghl("POST", "/contacts/", body={"locationId": sbx[0].id, "firstName": "Ida", "email": "ida@example.com"})
    assert resp.status_code == 201
    cid = resp.json()["contact"]["id"]
    assert len(cid) == 20 and cid.isalnum() and len(sbx[0].id) == 20


def test_contacts_cursor_pagination(ghl, sbx):
    seen, query, pages = [], {"locationId": sbx[0].id, "limit": 10}, 0
    while True:
        body = ghl("GET", "/contacts/", query=query).json()
        assert body["meta"]["total"] == 36 and body["count"] == 36
        seen += [c["id"] for c in body["contacts"]]
        pages += 1
        if "startAfterId" not in body["meta"]:
            break
        query = {"locationId": sbx[0].id, "limit": 10, "startAfterId": body["meta"]["startAfterId"],
                 "startAfter": body["meta"]["startAfter"]}
    assert pages == 4 and len(seen) == len(set(seen)) == 36


def test_skip_limit_and_page_pagination(ghl, sbx):
    loc = sbx[0].id
    first = ghl("GET", f"/contacts/business/{store.docs(sbx[0], 'business')[0]['id']}", query={"locationId": loc, "limit": 2})
    assert len(first.json()["contacts"]) == 2 and first.json()["count"] > 2
    subs = ghl("GET", "/forms/submissions", query={"locationId": loc, "limit": 3, "page": 2}).json()
    assert len(subs["submissions"]) == 3
    assert subs["meta"] == {"total": 8, "currentPage": 2, "nextPage": 3, "prevPage": 1}
    search = ghl("POST", "/contacts/search", body={"locationId": loc, "page": 2, "pageLimit": 20}).json()
    assert search["total"] == 36 and len(search["contacts"]) == 16
    conv = ghl("GET", "/conversations/search", query={"locationId": loc, "limit": 4}, version="2021-04-15").json()
    assert conv["total"] == 6 and len(conv["conversations"]) == 4
    rest = ghl("GET", "/conversations/search", query={"locationId": loc, "startAfterDate": conv["conversations"][-1]["sort"][0]},
               version="2021-04-15").json()
    assert len(rest["conversations"]) == 2


def test_contact_search_filters(ghl, sbx):
    loc = sbx[0].id
    email = store.docs(sbx[0], "contact")[3]["email"]
    hit = ghl("POST", "/contacts/search", body={"locationId": loc, "filters": [{"field": "email", "operator": "eq", "value": email.upper()}]})
    assert [c["email"] for c in hit.json()["contacts"]] == [email]
    vip = ghl("POST", "/contacts/search", body={"locationId": loc, "filters": [{"field": "tags", "operator": "eq", "value": "vip"}]})
    assert all("vip" in c["tags"] for c in vip.json()["contacts"]) and vip.json()["total"] > 0


@override_settings(SANDBOX_RATE_MAX=100)
def test_rate_limit_headers_and_429(ghl, sbx):
    q = {"locationId": sbx[0].id}
    remaining = []
    for _ in range(100):
        resp = ghl("GET", "/workflows/", query=q)
        assert resp.status_code == 200
        remaining.append(int(resp["X-RateLimit-Remaining"]))
    assert remaining == list(range(99, -1, -1))
    assert resp["X-RateLimit-Max"] == "100" and resp["X-RateLimit-Interval-Milliseconds"] == "10000"
    assert resp["X-RateLimit-Limit-Daily"] == "200000" and resp["X-RateLimit-Daily-Remaining"] == "199900"
    resp = ghl("GET", "/workflows/", query=q)
    assert resp.status_code == 429
    assert resp.json()["statusCode"] == 429 and resp["X-RateLimit-Remaining"] == "0" and int(resp["Retry-After"]) >= 1


def test_requests_are_logged(ghl, sbx):
    ghl("GET", "/contacts/", query={"locationId": sbx[0].id})
    ghl("GET", "/contacts/", query={"locationId": sbx[0].id}, token="bad")
    rows = list(SandboxRequest.objects.order_by("id").values_list("method", "status"))
    assert rows[-2:] == [("GET", 200), ("GET", 401)]


def test_reset_restores_demo_data(ghl, sbx):
    location = sbx[0]
    cid = store.docs(location, "contact")[0]["id"]
    assert ghl("DELETE", f"/contacts/{cid}").json() == {"succeded": True}
    assert store.records(location, "contact").count() == 35
    store.reset(location)
    assert store.records(location, "contact").count() == 36
    assert store.records(location, "pipeline").count() == 2 and store.records(location, "user").count() == 3


def test_write_flow_roundtrip(ghl, sbx):
    """A small dry run: create a contact, tag it, add a task, complete it, open a deal and move it."""
    loc = sbx[0].id
    c = ghl("POST", "/contacts/", body={"locationId": loc, "firstName": "Zed", "email": "zed@example.com"}).json()["contact"]
    assert ghl("POST", "/contacts/", body={"locationId": loc, "email": "ZED@example.com"}).status_code == 400
    assert ghl("POST", f"/contacts/{c['id']}/tags", body={"tags": ["Hot-Lead"]}).json() == {"tags": ["hot-lead"]}
    t = ghl("POST", f"/contacts/{c['id']}/tasks", body={"title": "Call", "dueDate": "2025-04-01T10:00:00Z", "completed": False}).json()["task"]
    done = ghl("PUT", f"/contacts/{c['id']}/tasks/{t['id']}/completed", body={"completed": True}).json()["task"]
    assert done["completed"] is True
    pipe = store.docs(sbx[0], "pipeline")[0]
    o = ghl("POST", "/opportunities/", body={"locationId": loc, "pipelineId": pipe["id"], "name": "Deal", "status": "open",
                                              "contactId": c["id"]}).json()["opportunity"]
    assert o["pipelineStageId"] == pipe["stages"][0]["id"]
    moved = ghl("PUT", f"/opportunities/{o['id']}", body={"pipelineStageId": pipe["stages"][1]["id"]}).json()["opportunity"]
    assert moved["pipelineStageId"] == pipe["stages"][1]["id"]
    up = ghl("POST", "/contacts/upsert", body={"locationId": loc, "email": "zed@example.com", "lastName": "Quill"}).json()
    assert up["new"] is False and up["contact"]["id"] == c["id"] and up["contact"]["lastName"] == "Quill"


def test_send_message_minimal_body_and_dnd(ghl, sbx):
    contacts = store.docs(sbx[0], "contact")
    ok = next(c for c in contacts if not c.get("dnd"))
    resp = ghl("POST", "/conversations/messages", body={"type": "SMS", "contactId": ok["id"], "message": "Hello!"},
               version="2021-04-15")
    assert resp.status_code == 200 and resp.json()["messageId"]
    blocked = next(c for c in contacts if c.get("dnd"))
    resp = ghl("POST", "/conversations/messages", body={"type": "SMS", "contactId": blocked["id"], "message": "Hi"},
               version="2021-04-15")
    assert resp.status_code == 400
