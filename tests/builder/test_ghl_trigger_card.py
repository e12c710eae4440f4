"""The GoHighLevel instant trigger in the editor: found first by its name, its webhook URL shown in the
card, samples pulled from the account (shaped as the event body) before any event arrived, field
labels people can read, and the trigger's declared fields in the data picker before a test."""
from automations import polling
from automations.builder_fields import humanize
from automations.models import Connection, Flow

from .conftest import hx


def ghl_flow(ws):
    conn = Connection(workspace=ws, app="gohighlevel", name="GHL", auth_kind="api_key",
                      config={"location_id": "loc1", "sandbox": True, "base_url": "http://127.0.0.1:9/sandbox/gohighlevel"})
    conn.set_secrets({"api_key": "pit-x"})
    conn.save()
    return Flow.objects.create(workspace=ws, name="New contact", draft={
        "trigger": {"operation": "gohighlevel.event.ContactCreate", "connection": conn.pk, "inputs": {}},
        "steps": [{"id": "s1", "key": "task", "name": "Task", "operation": "gohighlevel.create_contact_task",
                   "connection": conn.pk, "inputs": {}}]})


def test_searching_new_contact_finds_the_instant_trigger_first(client, alice, ws):
    flow = ghl_flow(ws)
    client.force_login(alice)
    body = hx(client, "get", f"/w/acme/flows/{flow.pk}/steps/trigger/catalogue", {"q": "new contact"}).content.decode()
    first = body.index("op-choice")
    assert body.index("New contact", first) < body.index("New Form Submission", first)


def test_instant_trigger_card_shows_its_url_and_pulls_samples(client, alice, ws):
    flow = ghl_flow(ws)
    client.force_login(alice)
    body = hx(client, "get", f"/w/acme/flows/{flow.pk}/steps/trigger/", {"open": "1"}).content.decode()
    assert f"/hooks/ghl/{flow.webhook_token}" in body and "GoHighLevel webhook URL" in body
    assert "Test trigger: pull samples" in body and "Use the latest event received" in body


def test_instant_samples_are_the_newest_records_shaped_as_events(ws):
    flow = ghl_flow(ws)
    listed = [{"id": "old", "email": "old@example.com", "dateAdded": "2026-01-01T00:00:00Z", "secretish": 1},
              {"id": "new", "email": "new@example.com", "dateAdded": "2026-02-01T00:00:00Z", "tags": ["vip"]}]
    seen = {}

    def fetch(flow_, trigger, op, limit):
        seen["op"] = op.key
        return listed

    items = polling.sample(flow, fetch=fetch)
    assert seen["op"] == "gohighlevel.search_contacts"
    assert [i["id"] for i in items] == ["new", "old"]
    assert items[0] == {"type": "ContactCreate", "locationId": "loc1", "id": "new", "email": "new@example.com",
                        "dateAdded": "2026-02-01T00:00:00Z", "tags": ["vip"]}
    assert "secretish" not in items[1]  # only the fields the event declares
    assert Flow.objects.get(pk=flow.pk).sample_data["trigger"]["id"] == "new"


def test_field_labels_and_untested_trigger_fields(client, alice, ws):
    assert [humanize(n) for n in ("contactId", "dueDate", "pipelineStageId", "url")] == \
        ["Contact ID", "Due date", "Pipeline stage ID", "URL"]
    flow = ghl_flow(ws)
    client.force_login(alice)
    body = hx(client, "get", f"/w/acme/flows/{flow.pk}/steps/s1/", {"open": "1"}).content.decode()
    assert ">Contact ID <span" in body and ">Due date <span" in body and "Contactid" not in body
    assert 'data-token="{{ trigger.email }}"' in body  # from the event's declared fields, before any test
