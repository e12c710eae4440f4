"""Webhook intake: stored before 2xx, duplicates make one run, limits and content types."""
import json

import pytest

from automations.models import Run, WebhookDelivery


@pytest.fixture
def hook(make_flow, client):
    flow = make_flow([{"id": "f", "operation": "flow.formatter", "inputs": {"value": "{{ trigger.email }}", "transform": "lower"}}])

    def post(body, content_type="application/json", **headers):
        data = json.dumps(body) if content_type == "application/json" and not isinstance(body, (str, bytes)) else body
        return client.post(f"/hooks/{flow.webhook_token}", data=data, content_type=content_type, **headers)

    post.flow = flow
    return post


def test_json_delivery_is_stored_and_makes_a_run(hook):
    r = hook({"email": "A@B.com"})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    run = Run.objects.get(pk=r.json()["run_id"])
    assert run.trigger_payload == {"email": "A@B.com"} and run.source == "webhook"
    d = WebhookDelivery.objects.get(run=run)
    assert bytes(d.body) == b'{"email": "A@B.com"}'


def test_form_and_text_bodies(hook):
    r = hook("email=a%40b.com&tag=x&tag=y", content_type="application/x-www-form-urlencoded")
    assert Run.objects.get(pk=r.json()["run_id"]).trigger_payload == {"email": "a@b.com", "tag": ["x", "y"]}
    r = hook("hello", content_type="text/plain")
    assert Run.objects.get(pk=r.json()["run_id"]).trigger_payload == {"body": "hello"}


def test_duplicate_delivery_ids_make_one_run(hook):
    answers = [hook({"n": 1}, HTTP_WEBHOOK_ID="evt_1") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["status"] for a in answers] == ["accepted", "duplicate", "duplicate"]
    assert Run.objects.count() == 1 and WebhookDelivery.objects.count() == 1
    assert answers[2].json()["run_id"] == answers[0].json()["run_id"]


def test_body_webhook_id_dedupes(hook):
    hook({"webhookId": "w-1", "type": "ContactCreate"})
    hook({"webhookId": "w-1", "type": "ContactCreate"})
    assert Run.objects.count() == 1


@pytest.mark.parametrize("body,ctype,status", [
    ("x" * (1024 * 1024 + 10), "text/plain", 413),
    (b"\xff\xfe", "text/plain", 400),
    ("{not json", "application/json", 400),
    ("[" * 5000 + "]" * 5000, "application/json", 400),
    ("--b\r\nContent-Disposition: form-data; name=f; filename=a\r\n\r\nx\r\n--b--", "multipart/form-data; boundary=b", 415),
    ("<x/>", "application/xml", 415),
])
def test_rejected_bodies_make_no_run(hook, body, ctype, status):
    r = hook(body, content_type=ctype)
    assert r.status_code == status, r.content
    assert Run.objects.count() == 0 and WebhookDelivery.objects.count() == 0


def test_unknown_off_and_get(hook, client):
    assert client.post("/hooks/nope", data="{}", content_type="application/json").status_code == 404
    assert client.get(f"/hooks/{hook.flow.webhook_token}").status_code == 405
    hook.flow.enabled = False
    hook.flow.save()
    assert hook({"a": 1}).status_code == 410


def test_trigger_filter_at_the_source_creates_no_run(make_flow, client):
    flow = make_flow([], trigger={"operation": "webhook.catch_hook", "inputs": {}, "filter": {"any": [{"all": [
        {"left": "{{ trigger.tags }}", "op": "list_contains", "right": "vip"}]}]}})
    url = f"/hooks/{flow.webhook_token}"
    assert client.post(url, {"tags": ["new"]}, content_type="application/json").json()["status"] == "filtered"
    assert client.post(url, {"tags": ["vip"]}, content_type="application/json").json()["status"] == "accepted"
    assert Run.objects.count() == 1


def test_database_unavailable_answers_503(hook, monkeypatch):
    from django.db import OperationalError

    from automations import intake

    def boom(*a, **k):
        raise OperationalError("database is locked")

    monkeypatch.setattr(intake, "queue_run", boom)
    r = hook({"a": 1})
    assert r.status_code == 503 and r["Retry-After"] == "30"
