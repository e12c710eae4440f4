"""End to end against the GoHighLevel sandbox over real HTTP: contacts created in the sandbox appear
as runs of a polling flow ("Search Contacts" trigger), once each, across several polls."""
import httpx
import pytest

from automations.engine import execute_run
from automations.flows import publish
from automations.models import Connection, Flow, Run, TriggerState
from automations.polling import poll
from automations.triggers import sync_state
from connectors.sandbox.store import create_location


@pytest.fixture
def sandbox(live_server, settings, transactional_db):
    settings.SSRF_ALLOW_LOOPBACK = True
    location, token = create_location("Polling Co")
    return live_server.url + "/sandbox/gohighlevel", location, token.token


def create_contact(base, location, token, i):
    r = httpx.post(f"{base}/contacts/", headers={"Authorization": f"Bearer {token}", "Version": "2021-07-28"},
                   json={"locationId": location.pk, "firstName": f"Poll{i}", "email": f"poll{i}@example.com"})
    assert r.status_code in (200, 201), r.text
    return r.json()["contact"]["id"]


def test_new_sandbox_contacts_fire_a_polling_flow_once_each(sandbox, ws):
    base, location, token = sandbox
    conn = Connection(workspace=ws, app="gohighlevel", name="Sandbox", auth_kind="api_key",
                      config={"base_url": base, "location_id": location.pk, "sandbox": True})
    conn.set_secrets({"api_key": token})
    conn.save()
    flow = Flow.objects.create(workspace=ws, name="New contacts", enabled=True, draft={
        "trigger": {"operation": "gohighlevel.search_contacts", "connection": conn.pk, "inputs": {},
                    "poll": {"interval_minutes": 1}},
        "steps": [{"id": "s1", "operation": "flow.formatter", "inputs": {"value": "{{ trigger.email }}", "transform": "upper"}}]})
    publish(flow)
    state = sync_state(flow)
    first = poll(flow, state)  # seeds: the ~36 demo contacts fire nothing
    assert first.seen >= 30 and Run.objects.count() == 0
    made = [create_contact(base, location, token, i) for i in range(3)]
    poll(flow, TriggerState.objects.get(pk=state.pk))
    poll(flow, TriggerState.objects.get(pk=state.pk))  # a second poll finds nothing new
    made += [create_contact(base, location, token, 3)]
    poll(flow, TriggerState.objects.get(pk=state.pk))
    runs = list(Run.objects.filter(flow=flow).order_by("id"))
    assert [r.trigger_payload["id"] for r in runs] == made  # each once, oldest first
    for r in runs:
        execute_run(r.pk)
    assert set(Run.objects.values_list("status", flat=True)) == {"succeeded"}
