"""The clone wizard: one and many clients, bindings from each client's own account, missing inputs
reported per client, values substituted as data (never evaluated)."""
from automations import agency as A
from automations.engine import execute_run, start_run
from automations.models import Connection, Flow, TemplateClone, Workspace

from .conftest import login


def _clone_url(c):
    return f"/a/{c.a.agency.pk}/templates/{c.a.template.pk}/clone"


def test_build_substitutes_slots_and_escapes_values(cast):
    a = cast.a
    definition, missing = A.build(a.version, {"connections": {"crm": a.conn.pk},
                                              "variables": {"tag_name": "{{ trigger.email }}"}}, a.ws)
    assert missing == []
    assert definition["steps"][0]["connection"] == a.conn.pk
    assert "vars." not in str(definition)
    flow = Flow.objects.create(workspace=a.ws, name="x", draft=definition)
    from automations.flows import publish

    publish(flow)
    run = start_run(flow, {"email": "Jane@X.com", "first_name": "Jane"})
    execute_run(run.pk)
    tag = run.steps.get(step_id="s2").output["value"]
    assert tag == "{{ trigger.email }}:Jane"  # the value stayed text: it was never evaluated


def test_build_reports_missing_and_foreign_connections(cast):
    a, b = cast.a, cast.b
    _, missing = A.build(a.version, {}, a.ws)
    assert missing == ["connection 'CRM account' (http)", "variable 'Tag'"]
    sibling_conn = Connection.objects.in_workspace(a.clients[1]).first()
    for foreign in (b.conn.pk, sibling_conn.pk):
        _, missing = A.build(a.version, {"connections": {"crm": foreign}, "variables": {"tag_name": "x"}}, a.ws)
        assert missing == ["connection 'CRM account' (http)"]


def test_wizard_one_client(cast, client):
    a = cast.a
    login(client, cast.ann)
    page = client.get(_clone_url(cast) + f"?clients={a.ws.pk}").content.decode()
    assert a.conn.name in page                       # the client's own connection is offered
    assert "Alpha Client 2 CRM" not in page and "Zeta" not in page  # never another client's
    response = client.post(_clone_url(cast), {"clients": [a.ws.pk], f"c{a.ws.pk}_slot_crm": a.conn.pk,
                                              f"c{a.ws.pk}_var_tag_name": "gold"})
    assert response.status_code == 200 and "Created" in response.content.decode()
    clone = TemplateClone.objects.get(workspace=a.ws)
    assert clone.bindings == {"connections": {"crm": a.conn.pk}, "variables": {"tag_name": "gold"}}
    assert clone.flow.published.definition["steps"][1]["inputs"]["value"] == "gold:{{ trigger.first_name }}"
    assert not clone.flow.enabled


def test_wizard_many_clients_with_missing_bindings(cast, client):
    a = cast.a
    c3 = Workspace.objects.create(agency=a.agency, name="Alpha Client 3", slug="a3")  # no connection at all
    c4 = Workspace.objects.create(agency=a.agency, name="Alpha Client 4", slug="a4")
    c4_conn = Connection.objects.create(workspace=c4, app="http", name="C4 CRM")
    login(client, cast.max)
    page = client.get(_clone_url(cast) + f"?clients={a.ws.pk}&clients={c3.pk}&clients={c4.pk}").content.decode()
    assert "No http connection in this workspace." in page
    response = client.post(_clone_url(cast), {
        "clients": [a.ws.pk, c3.pk, c4.pk, cast.b.ws.pk],  # another agency's client is ignored
        f"c{a.ws.pk}_slot_crm": a.conn.pk, f"c{a.ws.pk}_var_tag_name": "vip",
        f"c{c3.pk}_var_tag_name": "vip",
        f"c{c4.pk}_slot_crm": c4_conn.pk})  # no tag
    html = response.content.decode()
    assert html.count("Created") == 1 and html.count("Not created") == 2
    assert "Missing connection &#x27;CRM account&#x27; (http)" in html
    assert "Missing variable &#x27;Tag&#x27;" in html
    assert TemplateClone.objects.filter(workspace=a.ws).exists()
    assert not Flow.objects.filter(workspace__in=[c3, c4]).exists()
    assert not Flow.objects.filter(workspace=cast.b.ws, name="Alpha Template").exists()


def test_wizard_dropdowns_load_from_each_clients_account(cast, client, monkeypatch):
    a = cast.a
    v = A.add_version(a.template, a.version.definition, {**a.version.inputs, "variables": {
        "tag_name": {"label": "Pipeline", "type": "choice", "loader": "http.pipelines"}}})
    seen = []

    def fake_loader(loader, conn):
        seen.append((loader, conn.workspace_id))
        return [{"value": f"p-{conn.workspace_id}", "label": f"Pipeline of {conn.workspace.name}"}]

    monkeypatch.setattr("automations.views.agency.load_options", fake_loader)
    login(client, cast.ann)
    page = client.get(_clone_url(cast) + f"?clients={a.ws.pk}&clients={a.clients[1].pk}").content.decode()
    assert v.number == 2
    assert seen == [("http.pipelines", a.ws.pk), ("http.pipelines", a.clients[1].pk)]
    assert f'<option value="p-{a.ws.pk}"' in page and "Pipeline of Alpha Client 2" in page


def test_clone_many_each_client_on_its_own(cast):
    a = cast.a
    reports = A.clone_many(a.version, [(a.ws, {"connections": {"crm": a.conn.pk}, "variables": {"tag_name": "t"}}),
                                       (a.clients[1], {})])
    assert [r.ok for r in reports] == [True, False]
