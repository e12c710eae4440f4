"""export_flow / import_flow round-trip and run_flow."""
import json

from django.core.management import call_command

from automations.models import Connection, Flow


def test_export_import_round_trip(make_flow, ws, other_ws, capsys, tmp_path):
    conn = Connection.objects.create(workspace=ws, app="http", name="CRM key")
    flow = make_flow([{"id": "s1", "name": "Post", "operation": "http.request", "connection": conn.pk,
                       "inputs": {"url": "https://crm.example.com/leads", "method": "POST", "body": {"e": "{{ trigger.email }}"}}}])
    call_command("export_flow", str(flow.pk))
    exported = json.loads(capsys.readouterr().out)
    assert exported["format"] == "flowline.flow/1"
    assert exported["connections"] == {str(conn.pk): {"app": "http", "name": "CRM key"}}
    assert "secret" not in json.dumps(exported).lower()
    target = Connection.objects.create(workspace=other_ws, app="http", name="CRM key")
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(exported))
    call_command("import_flow", str(path), "--workspace", "other")
    result = json.loads(capsys.readouterr().out)
    copy = Flow.objects.get(pk=result["flow"])
    assert copy.workspace == other_ws and copy.published is not None
    assert copy.published.definition["steps"][0]["connection"] == target.pk
    call_command("export_flow", str(copy.pk))
    again = json.loads(capsys.readouterr().out)
    assert again["definition"]["steps"][0]["inputs"] == exported["definition"]["steps"][0]["inputs"]


def test_import_without_matching_connection_stays_draft(make_flow, ws, other_ws, capsys, tmp_path):
    conn = Connection.objects.create(workspace=ws, app="gohighlevel", name="Main")
    flow = make_flow([{"id": "s1", "operation": "http.request", "connection": conn.pk, "inputs": {"url": "https://x.example.com", "method": "GET"}}])
    call_command("export_flow", str(flow.pk))
    path = tmp_path / "f.json"
    path.write_text(capsys.readouterr().out)
    call_command("import_flow", str(path), "--workspace", "other")
    result = json.loads(capsys.readouterr().out)
    assert result["published"] is False and result["missing"] == ["gohighlevel: Main"]


def test_run_flow_prints_the_run(make_flow, capsys):
    flow = make_flow([{"id": "f", "operation": "flow.formatter", "inputs": {"value": "{{ trigger.name }}", "transform": "upper"}}])
    call_command("run_flow", str(flow.pk), "--payload", '{"name": "jane"}')
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "succeeded" and out["steps"][0]["output"] == {"value": "JANE"}


def test_publish_rejects_invalid_definitions(ws):
    from automations.flows import FlowInvalid, publish
    import pytest

    flow = Flow.objects.create(workspace=ws, name="Broken", draft={"trigger": {"operation": "webhook.catch_hook"}, "steps": [
        {"id": "s1", "operation": "http.request", "inputs": {"method": "POST", "body": "{{ trigger.x | nope }}"}},
        {"id": "s1", "operation": "no.such"}]})
    with pytest.raises(FlowInvalid) as exc:
        publish(flow)
    text = " ".join(exc.value.problems)
    assert "'URL' is required" in text and "nope" in text and "used twice" in text and "unknown" in text
