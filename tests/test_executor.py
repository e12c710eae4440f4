"""The executor against a local server: pagination, error sentences, 401 refresh-and-retry,
the compositions."""
import json

import pytest

from connectors import errors, ratelimit, registry
from connectors.context import StepContext
from connectors.executor import build_request, execute
from connectors.safehttp import SafeClient

from .gohighlevel.conftest import FakeCredentials


@pytest.fixture(autouse=True)
def limiter():
    ratelimit.set_limiter(ratelimit.Limiter(ratelimit.MemoryStore()))
    yield
    ratelimit.set_limiter(None)


def run(key, inputs, recorder, creds=None):
    creds = creds or FakeCredentials(config={"base_url": recorder.url})
    return execute(registry.get_operation(key), StepContext(inputs=inputs, credentials=creds,
                                                             client=SafeClient(allow_loopback=True)))


def test_build_request_fills_location_and_version():
    op = registry.get_operation("gohighlevel.add_tags_to_contact")
    req = build_request(op, {"contactId": "c 1", "tags": "vip, new"}, FakeCredentials(config={"base_url": "https://x"}))
    assert req == {"method": "POST", "url": "https://x/contacts/c%201/tags", "params": {},
                   "headers": {"Accept": "application/json", "Version": "2021-07-28"}, "json": {"tags": ["vip", "new"]}}
    search = build_request(registry.get_operation("gohighlevel.search_users"), {}, FakeCredentials())
    assert search["params"]["locationId"] == "loc1" and search["params"]["companyId"] == "comp1"
    with pytest.raises(errors.StepError, match="Missing required input: contactId"):
        build_request(op, {}, FakeCredentials())


def test_delete_with_json_body(recorder):
    run("gohighlevel.delete_event", {"eventId": "e1"}, recorder)
    run("gohighlevel.remove_tags_from_contact", {"contactId": "c1", "tags": ["a"]}, recorder)
    assert [(r["method"], r["path"]) for r in recorder.requests] == [("DELETE", "/calendars/events/e1"), ("DELETE", "/contacts/c1/tags")]
    assert recorder.json_bodies() == [{}, {"tags": ["a"]}]
    assert recorder.requests[0]["headers"]["Version"] == "2021-04-15"
    assert recorder.requests[0]["headers"]["Authorization"] == "Bearer pit-123"


def test_pagination_all_results_up_to_n(recorder):
    users = lambda n, start: {"users": [{"id": f"u{start + i}"} for i in range(n)], "count": 999}
    recorder.script = [(200, users(100, 0), {}), (200, users(100, 100), {}), (200, users(20, 200), {})]
    result = run("gohighlevel.search_users", {"_limit": 250}, recorder)
    assert len(result.output["users"]) == 220 and result.output["users"][-1]["id"] == "u219"
    assert [r["path"].split("?")[1].count("skip=") for r in recorder.requests] == [1, 1, 1]
    assert ["skip=0" in recorder.requests[0]["path"], "skip=100" in recorder.requests[1]["path"], "skip=200" in recorder.requests[2]["path"]] == [True] * 3
    recorder.requests.clear()
    recorder.script = [(200, users(100, 0), {}), (200, users(100, 100), {})]
    assert len(run("gohighlevel.search_users", {"_limit": 150}, recorder).output["users"]) == 150


def test_cursor_pagination(recorder):
    page = lambda ids, after: {"contacts": [{"id": i} for i in ids], "meta": {"startAfterId": after, "startAfter": 5}}
    recorder.script = [(200, page(["a", "b"], "b"), {}), (200, page(["c"], "c"), {}), (200, page([], None), {})]
    out = run("gohighlevel.list_contacts_deprecated", {"_limit": 10}, recorder).output
    assert [c["id"] for c in out["contacts"]] == ["a", "b", "c"]
    assert "startAfterId=b" in recorder.requests[1]["path"] and "startAfter=5" in recorder.requests[1]["path"]


@pytest.mark.parametrize("status,body,category,sentence", [
    (422, {"statusCode": 422, "message": ["email must be an email", "phone is invalid"], "error": "Unprocessable Entity"},
     errors.VALIDATION, "GoHighLevel could not process the fields (HTTP 422): email must be an email; phone is invalid."),
    (400, {"statusCode": 400, "message": "Bad Request"}, errors.VALIDATION, "GoHighLevel rejected the request (HTTP 400): Bad Request."),
    (401, {"statusCode": 401, "message": "Invalid token: access token is invalid", "error": "Unauthorized"}, errors.AUTH,
     "GoHighLevel refused the credentials (HTTP 401): Invalid token: access token is invalid. Check the connection's token and scopes."),
    (403, {"message": "The token does not have access to this location"}, errors.AUTH, None),
    (404, {"message": "Contact not found"}, errors.NOT_FOUND, "GoHighLevel could not find it (HTTP 404): Contact not found."),
    (429, {"message": "Too many requests"}, errors.RATE_LIMITED, None),
    (502, {"message": "bad gateway"}, errors.UPSTREAM, None),
])
def test_errors_become_one_sentence_with_raw_body(recorder, status, body, category, sentence):
    recorder.script = [(status, body, {"Retry-After": "3"})]
    with pytest.raises(errors.StepError) as caught:
        run("gohighlevel.get_contact", {"contactId": "c1"}, recorder)
    exc = caught.value
    assert exc.category == category and exc.response["body"] == body and exc.response["status"] == status
    assert exc.request["headers"]["Authorization"] == "***"
    if sentence:
        assert exc.message == sentence
    if status in (429, 502):
        assert exc.retryable and (status != 429 or exc.retry_after == 3)


def test_401_refreshes_once_and_retries(recorder):
    creds = FakeCredentials("oauth2", {"access_token": "old", "refresh_token": "r1", "expires_at": 9e12,
                                       "client_secret": "s"}, {"base_url": recorder.url, "client_id": "cid"})
    recorder.script = [(401, {"message": "expired"}, {}),
                       (200, {"access_token": "new", "refresh_token": "r2", "expires_in": 86399}, {}),
                       (200, {"contact": {"id": "c1"}}, {})]
    assert run("gohighlevel.get_contact", {"contactId": "c1"}, recorder, creds).output == {"contact": {"id": "c1"}}
    assert [r["path"] for r in recorder.requests] == ["/contacts/c1", "/oauth/token", "/contacts/c1"]
    assert recorder.requests[2]["headers"]["Authorization"] == "Bearer new"
    assert creds.secrets()["refresh_token"] == "r2"


def test_find_contact_by_id_email_and_miss(recorder):
    recorder.script = [(200, {"contact": {"id": "c1"}}, {}), (200, {"contacts": [{"id": "c2"}], "total": 1}, {}),
                       (200, {"contacts": [], "total": 0}, {}), (404, {"message": "Contact not found"}, {})]
    assert run("gohighlevel.find_contact", {"contactId": "c1"}, recorder).output == {"found": True, "contact": {"id": "c1"}}
    assert run("gohighlevel.find_contact", {"email": "a@b.co"}, recorder).output["contact"] == {"id": "c2"}
    assert run("gohighlevel.find_contact", {"phone": "+15550100"}, recorder).output == {"found": False, "contact": None}
    assert run("gohighlevel.find_contact", {"contactId": "gone"}, recorder).output["found"] is False
    bodies = recorder.json_bodies()
    assert recorder.requests[1]["path"] == "/contacts/search"
    assert bodies[1] == {"locationId": "loc1", "pageLimit": 1, "filters": [{"field": "email", "operator": "eq", "value": "a@b.co"}]}
    assert bodies[2]["filters"][0]["field"] == "phone"
    with pytest.raises(errors.StepError, match="Give a contact id"):
        run("gohighlevel.find_contact", {}, recorder)


def test_update_message_status_marks_the_conversation(recorder):
    recorder.script = [(200, {"id": "m1", "conversationId": "cv1"}, {}), (200, {"success": True, "conversation": {}}, {})]
    out = run("gohighlevel.update_message_status", {"messageId": "m1", "status": "unread"}, recorder).output
    assert out["conversationId"] == "cv1" and out["status"] == "unread"
    assert [(r["method"], r["path"]) for r in recorder.requests] == [("GET", "/conversations/messages/m1"), ("PUT", "/conversations/cv1")]
    assert recorder.json_bodies()[1] == {"locationId": "loc1", "unreadCount": 1}


def test_custom_api_call(recorder):
    run("gohighlevel.custom_api_call", {"method": "POST", "path": "/contacts/c1/notes", "body": {"body": "hi"},
                                        "query": {"x": "1"}}, recorder)
    r = recorder.requests[0]
    assert (r["method"], r["path"], json.loads(r["body"])) == ("POST", "/contacts/c1/notes?x=1", {"body": "hi"})
    assert r["headers"]["Version"] == "2021-07-28"


def test_option_loaders(recorder):
    from connectors.options import load_options

    creds = FakeCredentials(config={"base_url": recorder.url})
    recorder.script = [(200, {"pipelines": [{"id": "p1", "name": "Sales", "stages": [{"id": "s1", "name": "New"}]}]}, {})] * 2
    assert load_options("gohighlevel.pipelines", creds) == [{"value": "p1", "label": "Sales"}]
    assert load_options("gohighlevel.pipeline_stages", creds, pipelineId="p1") == [{"value": "s1", "label": "New"}]
    recorder.script = [(200, {"tags": [{"id": "t1", "name": "vip"}]}, {})]
    assert load_options("gohighlevel.tags", creds) == [{"value": "vip", "label": "vip"}]
    assert recorder.requests[-1]["path"] == "/locations/loc1/tags"
