"""Update propagation: a new template version is pushed to chosen clones, keeping each clone's
bindings, flow, webhook URL and trigger cursor."""
import copy

from automations import agency as A
from automations.models import TemplateClone, TriggerState
from automations.triggers import sync_state

from .conftest import login


def _v2(a, **extra_inputs):
    definition = copy.deepcopy(a.version.definition)
    definition["steps"][1]["inputs"]["transform"] = "upper"
    inputs = copy.deepcopy(a.version.inputs)
    inputs["variables"].update(extra_inputs)
    return A.add_version(a.template, definition, inputs, note="Upper-case tags")


def test_push_keeps_bindings_and_cursor(cast):
    a = cast.a
    clone = a.clone
    flow = clone.flow
    flow.enabled = True
    flow.save()
    state = sync_state(flow)
    state.cursor = {"since": "2025-01-01T00:00:00Z", "seen": ["c1", "c2"]}
    state.save()
    token, bindings, old_version = flow.webhook_token, clone.bindings, flow.published
    v2 = _v2(a)
    diff, missing = A.clone_diff(clone, v2)
    assert missing == [] and diff == [("steps[s2].inputs.transform", "trim", "upper")]
    report = A.push_update(clone, v2)
    assert report.ok
    clone.refresh_from_db()
    flow.refresh_from_db()
    assert clone.version == v2 and clone.bindings == bindings
    assert flow.published != old_version and flow.published.number == old_version.number + 1
    assert flow.published.definition["steps"][0]["connection"] == bindings["connections"]["crm"]
    assert flow.published.definition["steps"][1]["inputs"] == {"value": "vip:{{ trigger.first_name }}", "transform": "upper"}
    assert flow.webhook_token == token and flow.enabled
    assert TriggerState.objects.get(flow=flow).cursor == {"since": "2025-01-01T00:00:00Z", "seen": ["c1", "c2"]}
    assert A.clone_diff(clone, v2)[0] == []


def test_update_page_shows_diffs_and_pushes_only_chosen(cast, client):
    a = cast.a
    second = A.clone(a.version, a.ws, {"connections": {"crm": a.conn.pk}, "variables": {"tag_name": "gold"}}).flow.template_clone
    v2 = _v2(a)
    login(client, cast.ann)
    url = f"/a/{a.agency.pk}/templates/{a.template.pk}/update"
    page = client.get(url).content.decode()
    assert page.count("steps[s2].inputs.transform") == 2 and "Zeta" not in page
    client.post(url, {"clones": [second.pk]})
    second.refresh_from_db()
    a.clone.refresh_from_db()
    assert second.version == v2 and a.clone.version == a.version
    assert second.bindings["variables"] == {"tag_name": "gold"}


def test_new_input_without_binding_is_reported_not_pushed(cast, client):
    a = cast.a
    definition = copy.deepcopy(a.version.definition)
    definition["steps"][1]["inputs"]["value"] = "{{ vars.tag_name }} {{ vars.sender }}"
    v2 = A.add_version(a.template, definition, a.version.inputs)
    assert "sender" in v2.inputs["variables"]  # declared automatically
    before = a.clone.flow.published_id
    report = A.push_update(a.clone, v2)
    assert not report.ok and report.missing == ["variable 'sender'"]
    a.clone.flow.refresh_from_db()
    assert a.clone.flow.published_id == before
    login(client, cast.ann)
    page = client.get(f"/a/{a.agency.pk}/templates/{a.template.pk}/update").content.decode()
    assert "Cannot update: missing variable &#x27;sender&#x27;" in page


def test_other_agencys_clone_cannot_be_pushed(cast, client):
    b = cast.b
    _v2(b)
    login(client, cast.ann)
    client.post(f"/a/{cast.a.agency.pk}/templates/{cast.a.template.pk}/update", {"clones": [b.clone.pk]})
    assert TemplateClone.objects.get(pk=b.clone.pk).version == b.version
