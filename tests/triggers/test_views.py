"""The flow page's trigger panel: poll log, held batches, test trigger, start from a date."""
from automations import polling
from automations.models import HeldBatch, Run, TriggerState

from .conftest import Source, state_of


def url(flow, tail=""):
    return f"/w/{flow.workspace.slug}/flows/{flow.pk}/trigger/{tail}"


def test_panel_shows_poll_log_and_held_batch(client, alice, poll_flow):
    flow, source = poll_flow(), Source()
    flow.options = {"flood_threshold": 2}
    flow.save()
    polling.poll(flow, state_of(flow), fetch=source.fetch)
    source.new(3)
    polling.poll(flow, state_of(flow), fetch=source.fetch)
    client.force_login(alice)
    page = client.get(url(flow)).content.decode()
    assert "3 new items held" in page and "Recorded existing items" in page
    assert 'id="trigger-panel"' in client.get(f"/w/acme/flows/{flow.pk}/").content.decode()
    batch = HeldBatch.objects.get(flow=flow)
    r = client.post(url(flow, f"held/{batch.pk}/release"))
    assert r.status_code == 302 and Run.objects.filter(flow=flow).count() == 3
    assert client.post(url(flow, f"held/{batch.pk}/explode")).status_code == 404


def test_viewers_and_strangers_cannot_change_anything(client, vera, charlie, poll_flow):
    flow = poll_flow()
    batch = HeldBatch.objects.create(workspace=flow.workspace, flow=flow, items=[{"key": "1", "item": {"id": "1"}}], count=1)
    client.force_login(vera)
    assert client.get(url(flow)).status_code == 200
    assert client.post(url(flow, f"held/{batch.pk}/release")).status_code == 403
    assert client.post(url(flow, "start-from"), {"start_from": "2026-01-01"}).status_code == 403
    client.force_login(charlie)
    assert client.get(url(flow)).status_code == 404
    assert client.post(url(flow, f"held/{batch.pk}/discard")).status_code == 404
    assert HeldBatch.objects.get(pk=batch.pk).status == "held"


def test_start_from_and_test_trigger(client, bob, poll_flow, monkeypatch):
    flow, source = poll_flow(), Source()
    source.new(7)
    monkeypatch.setattr(polling, "default_fetch", source.fetch)
    client.force_login(bob)
    assert client.post(url(flow, "start-from"), {"start_from": "not a date"}).status_code == 302
    assert "start_from" not in state_of(flow).cursor
    client.post(url(flow, "start-from"), {"start_from": "2026-01-01"})
    assert state_of(flow).cursor == {**state_of(flow).cursor, "seeded": False, "start_from": "2026-01-01"}
    client.post(url(flow, "test"))
    flow.refresh_from_db()
    assert len(flow.sample_data["items"]) == 5 and flow.sample_data["trigger"]["n"] == 7
    assert TriggerState.objects.get(flow=flow).next_at is not None
