"""Flows list: search, tags, status, create, duplicate, delete with confirmation, on/off."""
from automations.engine import execute_run, start_run
from automations.flows import publish
from automations.models import Flow, Run

from .conftest import hx


def test_list_shows_flows_with_status_and_errors(client, alice, flow):
    publish(flow)
    run = start_run(flow, {"email": "x@y.z", "tags": ["lead"]})
    Run.objects.filter(pk=run.pk).update(status=Run.FAILED)
    client.force_login(alice)
    body = client.get("/w/acme/flows/").content.decode()
    assert "Lead intake" in body and "Webhook: Catch a webhook" in body
    assert "1 error this week" in body and 'role="switch"' in body and "leads" in body


def test_empty_state_says_what_to_do(client, alice):
    client.force_login(alice)
    body = client.get("/w/acme/flows/").content.decode()
    assert "Build your first flow" in body and "+ New flow" in body


def test_search_returns_the_table_partial(client, alice, flow, ws):
    Flow.objects.create(workspace=ws, name="Birthday emails", tags="email")
    client.force_login(alice)
    r = hx(client, "get", "/w/acme/flows/", {"q": "birthday"}, target="flow-table")
    body = r.content.decode()
    assert r.status_code == 200 and "<html" not in body and 'id="flow-table"' in body
    assert "Birthday emails" in body and "Lead intake" not in body
    body = client.get("/w/acme/flows/", {"tag": "crm"}).content.decode()
    assert "Lead intake" in body and "Birthday emails" not in body.split('id="flow-table"')[1]


def test_create_redirects_to_the_editor(client, alice):
    client.force_login(alice)
    r = client.post("/w/acme/flows/new", {"name": "New lead", "tags": "a, b"})
    flow = Flow.objects.get(name="New lead")
    assert r.status_code == 302 and r["Location"] == f"/w/acme/flows/{flow.pk}/edit/"
    assert flow.tags == "a, b" and flow.draft == {"trigger": {}, "steps": []} and flow.created_by == alice
    r = hx(client, "post", "/w/acme/flows/new", {"name": ""})
    assert r["HX-Redirect"].endswith("/edit/") and Flow.objects.filter(name="Untitled flow").exists()


def test_duplicate_copies_the_draft_switched_off(client, alice, flow):
    publish(flow)
    Flow.objects.filter(pk=flow.pk).update(enabled=True)
    client.force_login(alice)
    r = hx(client, "post", f"/w/acme/flows/{flow.pk}/duplicate")
    copy = Flow.objects.get(name="Lead intake (copy)")
    assert r["HX-Redirect"] == f"/w/acme/flows/{copy.pk}/edit/"
    assert copy.draft == flow.draft and not copy.enabled and copy.published is None
    assert copy.webhook_token != flow.webhook_token


def test_delete_asks_first_then_deletes(client, alice, flow):
    client.force_login(alice)
    r = hx(client, "get", f"/w/acme/flows/{flow.pk}/delete")
    body = r.content.decode()
    assert 'class="confirm-row"' in body and "cannot be undone" in body and "<html" not in body
    assert "Delete “Lead intake”?" in client.get(f"/w/acme/flows/{flow.pk}/delete").content.decode()
    assert Flow.objects.filter(pk=flow.pk).exists()
    r = hx(client, "post", f"/w/acme/flows/{flow.pk}/delete")
    assert r.status_code == 200 and r.content == b"" and not Flow.objects.filter(pk=flow.pk).exists()


def test_switch_needs_a_published_version(client, alice, flow):
    client.force_login(alice)
    r = hx(client, "post", f"/w/acme/flows/{flow.pk}/switch", target=f"row-{flow.pk}")
    assert r.status_code == 422 and "Publish the flow" in r.content.decode()
    publish(flow)
    r = hx(client, "post", f"/w/acme/flows/{flow.pk}/switch", target=f"row-{flow.pk}")
    body = r.content.decode()
    assert body.strip().startswith(f'<tr id="row-{flow.pk}"') and 'aria-checked="true"' in body
    flow.refresh_from_db()
    assert flow.enabled and flow.trigger_state.next_at is None  # a webhook flow has no schedule
    r = hx(client, "post", f"/w/acme/flows/{flow.pk}/switch", target="flow-head")
    assert 'id="flow-head"' in r.content.decode() and not Flow.objects.get(pk=flow.pk).enabled


def test_turned_on_flow_runs_its_published_version(client, alice, flow):
    publish(flow)
    client.force_login(alice)
    hx(client, "post", f"/w/acme/flows/{flow.pk}/switch", target="flow-head")
    flow.draft = {**flow.draft, "steps": []}  # a later unpublished edit does not run
    flow.save()
    run = start_run(Flow.objects.get(pk=flow.pk), {"email": "A@B.C", "tags": ["lead"]})
    assert execute_run(run.pk) == Run.SUCCEEDED
    assert list(run.steps.values_list("step_id", flat=True)) == ["s1", "s2"]


def test_settings_rename_and_tag(client, alice, flow):
    client.force_login(alice)
    r = hx(client, "post", f"/w/acme/flows/{flow.pk}/settings", {"name": "Leads v2", "tags": " x ,, y "})
    flow.refresh_from_db()
    assert flow.name == "Leads v2" and flow.tags == "x, y" and 'id="flow-head"' in r.content.decode()
