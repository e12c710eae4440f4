"""JSON import/export of templates and flows: round trips, no secrets, no foreign ids."""
import json

from django.core.management import call_command

from automations import agency as A
from automations.models import Flow, FlowTemplate

from .conftest import login


def test_template_round_trip_through_views(cast, client):
    a = cast.a
    login(client, cast.max)
    exported = client.get(f"/a/{a.agency.pk}/templates/{a.template.pk}/export.json")
    assert exported["Content-Disposition"].startswith("attachment;")
    data = json.loads(exported.content)
    assert data["format"] == "flowline.template/1" and data["definition"] == a.version.definition
    text = exported.content.decode()
    assert "secret" not in text and "vip" not in text  # no secret, no client's bound value
    client.post(f"/a/{a.agency.pk}/templates/import", {"json": json.dumps(data)})
    copy = FlowTemplate.objects.in_agency(a.agency).exclude(pk=a.template.pk).get()
    assert (copy.latest.definition, copy.latest.inputs) == (a.version.definition, a.version.inputs)
    assert A.export_template(copy.latest) | {"version": 1} == data
    # as a new version of the same template
    client.post(f"/a/{a.agency.pk}/templates/import", {"json": json.dumps(data), "template": a.template.pk})
    assert a.template.latest.number == 2 and a.template.latest.definition == a.version.definition
    # not into another agency's template
    assert client.post(f"/a/{a.agency.pk}/templates/import",
                       {"json": json.dumps(data), "template": cast.b.template.pk}).status_code == 404


def test_import_rejects_garbage_and_raw_connection_ids(cast, client):
    a = cast.a
    login(client, cast.ann)
    for bad in ("not json", "[1, 2]", json.dumps({"format": "other"})):
        client.post(f"/a/{a.agency.pk}/templates/import", {"json": bad})
    assert FlowTemplate.objects.in_agency(a.agency).count() == 1
    data = A.export_template(a.version)
    data["definition"]["steps"][0]["connection"] = cast.b.conn.pk  # a raw id of another tenant
    version = A.import_template(data, a.agency)
    assert version.definition["steps"][0]["connection"] is None


def test_save_flow_as_template_makes_slots_variables_and_hides_secrets(cast, client):
    a = cast.a
    secret = "alpha-secret-token-123456"
    flow = a.flow
    flow.draft["steps"][0]["inputs"]["value"] = "{{ trigger.email }} vip " + secret
    flow.save()
    from automations.flows import publish

    publish(flow)
    login(client, cast.ann)
    response = client.post(f"/w/{a.ws.slug}/flows/{flow.pk}/save-as-template", {
        "name": "Saved", "var_name": ["tag_name", ""], "var_label": ["Tag", ""], "var_type": ["text", "text"],
        "var_loader": ["", ""], "var_replace": ["vip", ""]})
    t = FlowTemplate.objects.get(name="Saved")
    assert response.status_code == 302 and t.agency == a.agency
    v = t.latest
    assert v.definition["steps"][0]["connection"] == {"$slot": "http"}
    assert v.inputs["connections"] == {"http": {"app": "http", "label": "http account"}}
    assert v.inputs["variables"]["tag_name"]["label"] == "Tag"
    assert v.definition["steps"][0]["inputs"]["value"] == "{{ trigger.email }} {{ vars.tag_name }} [redacted]"
    assert secret not in json.dumps(A.export_template(v))


def test_flow_export_import_round_trip(cast, client):
    a = cast.a
    login(client, cast.ed)
    data = json.loads(client.get(f"/w/{a.ws.slug}/flows/{a.flow.pk}/export.json").content)
    assert data["format"] == "flowline.flow/1" and "secret" not in json.dumps(data)
    login(client, cast.ann)
    target = a.clients[1]  # has an http connection of its own
    response = client.post(f"/w/{target.slug}/flows/import", {"json": json.dumps(data)})
    flow = Flow.objects.in_workspace(target).get(name=a.flow.name)
    assert response.status_code == 302 and flow.published
    assert flow.published.definition["steps"][0]["connection"] in set(target.connections.values_list("pk", flat=True))
    # a flow export imports as a template too: its connections become slots
    version = A.import_template(data, a.agency)
    assert version.definition["steps"][0]["connection"] == {"$slot": "http"}


def test_management_commands_round_trip(cast, tmp_path, capsys):
    a = cast.a
    path = tmp_path / "t.json"
    call_command("export_template", a.template.pk, "-o", str(path))
    call_command("import_template", str(path), "--agency", str(a.agency.pk), "--template", str(a.template.pk))
    out = json.loads(capsys.readouterr().out)
    assert out == {"template": a.template.pk, "version": 2}
    assert a.template.latest.definition == a.version.definition
