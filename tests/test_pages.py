"""Pages: who may see what (alice owner, bob editor, vera viewer, charlie another tenant)."""
import pytest

from automations.engine import execute_run, start_run
from automations.models import Run


@pytest.fixture
def flow(make_flow):
    return make_flow([{"id": "f", "name": "Lower", "operation": "flow.formatter",
                       "inputs": {"value": "{{ trigger.email }}", "transform": "lower"}}], name="Lead intake")


def test_login_required(client, ws):
    assert client.get("/w/acme/").status_code == 302


def test_home_redirects_to_workspace(client, alice):
    client.force_login(alice)
    r = client.get("/")
    assert r.status_code == 302 and r["Location"] == "/w/acme/"


def test_workspace_lists_flows_and_runs(client, alice, flow):
    run = start_run(flow, {"email": "JO@X.com", "name": "Jo"})
    execute_run(run.pk)
    client.force_login(alice)
    body = client.get("/w/acme/").content.decode()
    assert "Lead intake" in body and f"#{run.pk}" in body and "Succeeded" in body


def test_run_page_shows_steps(client, vera, flow):
    run = start_run(flow, {"email": "JO@X.com"})
    execute_run(run.pk)
    client.force_login(vera)
    body = client.get(f"/w/acme/runs/{run.pk}/").content.decode()
    assert "Lower" in body and "jo@x.com" in body and "Trigger data" in body


def test_run_page_polls_while_active_and_stops_after(client, alice, flow):
    run = start_run(flow, {})
    client.force_login(alice)
    r = client.get(f"/w/acme/runs/{run.pk}/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and 'hx-trigger="every 1s"' in r.content.decode()
    assert "<html" not in r.content.decode()  # the partial only
    execute_run(run.pk)
    r = client.get(f"/w/acme/runs/{run.pk}/", HTTP_HX_REQUEST="true")
    assert r.status_code == 286


def test_other_tenant_gets_404_everywhere(client, charlie, flow):
    run = start_run(flow, {})
    client.force_login(charlie)
    for url in ["/w/acme/", f"/w/acme/flows/{flow.pk}/", f"/w/acme/runs/{run.pk}/", f"/w/other/runs/{run.pk}/",
                f"/w/other/flows/{flow.pk}/"]:
        assert client.get(url).status_code == 404, url
    for url in [f"/w/acme/flows/{flow.pk}/toggle", f"/w/acme/flows/{flow.pk}/run", f"/w/other/flows/{flow.pk}/run"]:
        assert client.post(url).status_code == 404, url


def test_viewer_cannot_change_or_run(client, vera, flow):
    client.force_login(vera)
    assert client.post(f"/w/acme/flows/{flow.pk}/toggle").status_code == 403
    assert client.post(f"/w/acme/flows/{flow.pk}/run", {"payload": "{}"}).status_code == 403
    assert Run.objects.count() == 0


def test_editor_toggles_and_runs(client, bob, flow):
    client.force_login(bob)
    client.post(f"/w/acme/flows/{flow.pk}/toggle")
    flow.refresh_from_db()
    assert flow.enabled is False
    r = client.post(f"/w/acme/flows/{flow.pk}/run", {"payload": '{"email": "A@b.c"}'})
    run = Run.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/w/acme/runs/{run.pk}/"
    bad = client.post(f"/w/acme/flows/{flow.pk}/run", {"payload": "[1"})
    assert bad.status_code == 302 and Run.objects.count() == 1


def test_csrf_is_enforced(alice, flow):
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    c.force_login(alice)
    assert c.post(f"/w/acme/flows/{flow.pk}/toggle").status_code == 403


def test_flow_page_shows_webhook_url(client, alice, flow):
    client.force_login(alice)
    body = client.get(f"/w/acme/flows/{flow.pk}/").content.decode()
    assert f"/hooks/{flow.webhook_token}" in body and "Lower" in body
