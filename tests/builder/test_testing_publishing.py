"""Testing the trigger and steps; publishing; versions, changes and restore."""
import json

import pytest

from automations.flows import publish
from automations.models import Connection, Flow, FlowVersion, WebhookDelivery

from .conftest import PAYLOAD, hx


def test_trigger_sample_from_pasted_json(client, alice, url, flow):
    client.force_login(alice)
    r = hx(client, "post", url("steps/trigger/test"), {"source": "paste", "sample": '{"email": "bo@x.io", "n": 2}'})
    body = r.content.decode()
    assert body.strip().startswith('<article id="card-trigger"') and "Sample saved" in body
    assert Flow.objects.get(pk=flow.pk).sample_data["trigger"] == {"email": "bo@x.io", "n": 2}
    bad = hx(client, "post", url("steps/trigger/test"), {"source": "paste", "sample": "{nope"}).content.decode()
    assert "not valid JSON" in bad and Flow.objects.get(pk=flow.pk).sample_data["trigger"]["n"] == 2


def test_trigger_sample_from_the_latest_webhook(client, alice, url, flow, ws):
    client.force_login(alice)
    none = hx(client, "post", url("steps/trigger/test"), {"source": "latest"}).content.decode()
    assert "No request has reached" in none
    WebhookDelivery.objects.create(workspace=ws, flow=flow, delivery_id="d1", content_type="application/json",
                                   headers={}, body=json.dumps({"email": "hook@x.io"}).encode())
    hx(client, "post", url("steps/trigger/test"), {"source": "latest"})
    assert Flow.objects.get(pk=flow.pk).sample_data["trigger"] == {"email": "hook@x.io"}


def test_step_test_runs_it_and_keeps_the_output(client, alice, url, flow):
    client.force_login(alice)
    r = hx(client, "post", url("steps/s2/test"), {"name": "Lower email", "value": "{{ trigger.email }}", "transform": "lower"})
    body = r.content.decode()
    assert "Test succeeded" in body and "jane@example.com" in body
    assert Flow.objects.get(pk=flow.pk).sample_data["steps"]["s2"] == {"value": "jane@example.com"}
    # Later steps now see it in their data picker and preview.
    card = hx(client, "get", url("steps/s1/"), {"open": "1"}).content.decode()
    assert "lower_email" not in card  # s1 is before s2: it cannot map s2
    hx(client, "post", url("steps/s1/move"), {"direction": "down"})
    card = hx(client, "get", url("steps/s1/"), {"open": "1"}).content.decode()
    assert "{{ steps.lower_email.value }}" in card and "jane@example.com" in card


def test_filter_test_explains_a_halt(client, alice, url, flow):
    client.force_login(alice)
    Flow.objects.filter(pk=flow.pk).update(sample_data={"trigger": {**PAYLOAD, "tags": ["customer"]}})
    body = hx(client, "post", url("steps/s1/test"), {
        "name": "Only leads", "c-conditions-0-0-left": "{{ trigger.tags }}", "c-conditions-0-0-op": "contains",
        "c-conditions-0-0-right": "lead"}).content.decode()
    assert "the flow would stop here" in body and "Filter conditions were not met" in body


def test_step_test_with_missing_fields_does_not_run(client, alice, url):
    client.force_login(alice)
    body = hx(client, "post", url("steps/s2/test"), {"name": "Lower email", "value": "", "transform": ""}).content.decode()
    assert "Fix the fields marked below" in body and "Required." in body


def test_http_step_test_shows_request_and_response(client, alice, url, flow, recorder):
    pytest.importorskip("connectors.safehttp")
    client.force_login(alice)
    hx(client, "post", url("steps/s2/operation"), {"operation": "http.request"})
    body = hx(client, "post", url("steps/s2/test"), {
        "name": "Send", "url": recorder.url + "/hook", "method": "POST", "body": '{"email": "{{ trigger.email }}"}',
        "headers": '{"Authorization": "Bearer sk-secret-123456"}'}).content.decode()
    assert "Test succeeded" in body and "Request sent" in body and "Response received" in body
    assert recorder.json_bodies() == [{"email": "Jane@Example.com"}]
    # the form shows what the user typed; the recorded request shows it redacted
    sent = body[body.index("Request sent"):]
    sent = sent[:sent.index("</details>")] if "</details>" in sent else sent[:4000]
    assert "sk-secret-123456" not in sent and "[redacted]" in sent


def test_publish_lists_problems(client, alice, url, flow):
    client.force_login(alice)
    d = flow.draft
    d["steps"][1]["inputs"] = {"value": "{{ trigger.email | nope }}"}
    Flow.objects.filter(pk=flow.pk).update(draft=d)
    r = hx(client, "post", url("publish"))
    body = r.content.decode()
    assert body.strip().startswith('<div id="flow-head"') and "Not published yet" in body
    assert "Transform" in body and "nope" in body and not FlowVersion.objects.exists()


def test_publish_flags_missing_connections_and_scopes(client, alice, url, flow, ws, monkeypatch):
    from automations.views import builder as views

    conn = Connection.objects.create(workspace=ws, app="crm", name="CRM", config={"scopes": ["contacts.readonly"]})

    class Op:
        key, label, scopes, app = "crm.create", "Create", ("contacts.write",), "crm"

    class App:
        key, label, builtin, auth = "crm", "CRM", False, ("api_key",)

    d = flow.draft
    d["steps"].append({"id": "s3", "name": "Create contact", "operation": "crm.create", "connection": conn.pk, "inputs": {}})
    d["steps"].append({"id": "s4", "name": "Create another", "operation": "crm.create", "connection": None, "inputs": {}})
    monkeypatch.setattr(views, "validate_definition", lambda definition, ws: [])
    monkeypatch.setattr(views, "operation", lambda key: Op if key == "crm.create" else None)
    monkeypatch.setattr(views, "app_of", lambda op: App)
    problems = views.publish_problems(ws, d)
    assert "Create contact: the connection 'CRM' lacks the scopes contacts.write; re-authorise it." in problems
    assert "Create another: choose a CRM connection." in problems


def test_publish_creates_a_version_and_history_shows_changes(client, alice, url, flow):
    client.force_login(alice)
    body = hx(client, "post", url("publish"), {"note": "first"}).content.decode()
    assert "Published version 1" in body and "Switch the flow on" in body
    v1 = FlowVersion.objects.get()
    assert v1.created_by == alice and v1.note == "first" and v1.definition == flow.draft
    hx(client, "post", url("steps/s2/save"), {"name": "Lower email", "value": "{{ trigger.email }}", "transform": "upper"})
    assert "Unpublished changes" in client.get(url("edit/")).content.decode()
    hx(client, "post", url("publish"))
    r = hx(client, "get", url("versions/"))
    body = r.content.decode()
    assert 'id="versions"' in body and "<html" not in body and "Version 2" in body and "alice" in body
    assert "transform: lower → upper" in body and "Live" in body
    assert "Version history" in client.get(url("versions/")).content.decode()  # a full page without htmx


def test_restore_puts_a_version_back_in_the_draft(client, alice, url, flow):
    publish(flow, alice)
    flow.draft = {**flow.draft, "steps": flow.draft["steps"][:1]}
    flow.save()
    publish(flow, alice)
    client.force_login(alice)
    r = hx(client, "post", url("versions/1/restore"))
    body = r.content.decode()
    assert body.strip().startswith('<div id="editor-body"') and "Version 1 is back in the draft" in body
    flow.refresh_from_db()
    assert [s["id"] for s in flow.draft["steps"]] == ["s1", "s2"] and flow.published.number == 2
    assert hx(client, "post", url("versions/9/restore")).status_code == 404
