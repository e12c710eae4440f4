"""Each role on each action, inside its own agency: agency owner (ann), agency member (max), client
editor of A1 (ed), client viewer of A1 (vic). 404 = may not know it exists, 403 = may see it, may not do it."""
import json

import pytest

from automations.models import Connection, Membership

from .conftest import login

ROLES = ("ann", "max", "ed", "vic")


class FakeLocations:
    def list(self, conn):
        return [{"id": "loc1", "name": "Sunrise Bakery"}, {"id": "loc2", "name": "Harbor Vets"}]

    def connect(self, conn, location, ws):
        return Connection.objects.create(workspace=ws, app="gohighlevel", name=f"{location['name']} (location)",
                                         config={"location_id": location["id"]})


def _actions(c):
    a = c.a
    ag, t, ws, flow = a.agency.pk, a.template.pk, a.ws.slug, a.flow.pk
    export = json.dumps({"format": "flowline.template/1", "name": "Imported", "definition": {"trigger": {}, "steps": []}})
    flow_json = json.dumps({"format": "flowline.flow/1", "name": "Imported flow", "definition": a.flow.draft,
                            "connections": {str(a.conn.pk): {"app": "http", "name": a.conn.name}}})
    clone_post = {"clients": [a.ws.pk], f"c{a.ws.pk}_slot_crm": a.conn.pk, f"c{a.ws.pk}_var_tag_name": "x"}
    return {
        # name: (method, url, data, {role: status})
        "agency dashboard": ("get", f"/a/{ag}/", None, dict(ann=200, max=200, ed=404, vic=404)),
        "clients list": ("get", f"/a/{ag}/clients/", None, dict(ann=200, max=200, ed=404, vic=404)),
        "create clients": ("post", f"/a/{ag}/clients/create", "LOCATIONS", dict(ann=302, max=403, ed=404, vic=404)),
        "templates list": ("get", f"/a/{ag}/templates/", None, dict(ann=200, max=200, ed=404, vic=404)),
        "template detail": ("get", f"/a/{ag}/templates/{t}/", None, dict(ann=200, max=200, ed=404, vic=404)),
        "template export": ("get", f"/a/{ag}/templates/{t}/export.json", None, dict(ann=200, max=200, ed=404, vic=404)),
        "template import": ("post", f"/a/{ag}/templates/import", {"json": export}, dict(ann=302, max=302, ed=404, vic=404)),
        "clone wizard": ("get", f"/a/{ag}/templates/{t}/clone?clients={a.ws.pk}", None, dict(ann=200, max=200, ed=404, vic=404)),
        "clone": ("post", f"/a/{ag}/templates/{t}/clone", clone_post, dict(ann=200, max=200, ed=404, vic=404)),
        "update clones (diff)": ("get", f"/a/{ag}/templates/{t}/update", None, dict(ann=200, max=200, ed=404, vic=404)),
        "update clones (push)": ("post", f"/a/{ag}/templates/{t}/update", {"clones": [a.clone.pk]}, dict(ann=302, max=302, ed=404, vic=404)),
        "save as template (form)": ("get", f"/w/{ws}/flows/{flow}/save-as-template", None, dict(ann=200, max=200, ed=403, vic=403)),
        "save as template": ("post", f"/w/{ws}/flows/{flow}/save-as-template", {"name": "Saved"}, dict(ann=302, max=302, ed=403, vic=403)),
        "flow export": ("get", f"/w/{ws}/flows/{flow}/export.json", None, dict(ann=200, max=200, ed=200, vic=403)),
        "flow import": ("post", f"/w/{ws}/flows/import", {"json": flow_json}, dict(ann=302, max=302, ed=302, vic=403)),
        "client workspace": ("get", f"/w/{ws}/", None, dict(ann=200, max=200, ed=200, vic=200)),
        "sibling client workspace": ("get", f"/w/{a.clients[1].slug}/", None, dict(ann=200, max=200, ed=404, vic=404)),
        "switch a flow on (edit)": ("post", f"/w/{ws}/flows/{flow}/toggle", {}, dict(ann=302, max=302, ed=302, vic=403)),
        "runs list": ("get", f"/w/{ws}/runs/", None, dict(ann=200, max=200, ed=200, vic=200)),
        "run detail": ("get", f"/w/{ws}/runs/{a.run.pk}/", None, dict(ann=200, max=200, ed=200, vic=200)),
    }


ACTION_NAMES = ["agency dashboard", "clients list", "create clients", "templates list", "template detail",
                "template export", "template import", "clone wizard", "clone", "update clones (diff)",
                "update clones (push)", "save as template (form)", "save as template", "flow export", "flow import",
                "client workspace", "sibling client workspace", "switch a flow on (edit)", "runs list", "run detail"]


@pytest.mark.parametrize("action", ACTION_NAMES)
@pytest.mark.parametrize("role", ROLES)
def test_role_on_action(cast, client, monkeypatch, role, action):
    method, url, data, expected = _actions(cast)[action]
    if data == "LOCATIONS":
        monkeypatch.setattr("automations.views.agency.LOCATIONS", FakeLocations())
        agency_conn = Connection.objects.create(workspace=cast.a.ws, app="gohighlevel", name="Agency OAuth",
                                                config={"company_id": "co1"})
        data = {"connection": agency_conn.pk, "location": ["loc1"]}
    login(client, cast.users[role])
    response = getattr(client, method)(url, data or {})
    assert response.status_code == expected[role], (role, action, response.status_code)


def test_actions_table_is_complete(cast):
    assert sorted(_actions(cast)) == sorted(ACTION_NAMES)


def test_effective_roles(cast, client):
    """Agency owner -> owner, agency member -> editor in every client; the highest role wins."""
    from automations.agency import effective_membership, workspaces_for

    a = cast.a
    assert effective_membership(cast.ann, a.clients[1].slug).role == Membership.OWNER
    assert effective_membership(cast.max, a.clients[1].slug).role == Membership.EDITOR
    assert effective_membership(cast.vic, a.ws.slug).role == Membership.VIEWER
    assert effective_membership(cast.vic, a.clients[1].slug) is None
    assert effective_membership(cast.ann, cast.b.ws.slug) is None
    Membership.objects.create(user=cast.max, workspace=a.ws, role=Membership.VIEWER)
    assert effective_membership(cast.max, a.ws.slug).role == Membership.EDITOR  # the agency role is higher
    Membership.objects.create(user=cast.vic, workspace=cast.b.ws, role=Membership.OWNER)
    assert [m.workspace.slug for m in workspaces_for(cast.vic)] == [a.ws.slug, cast.b.ws.slug]
    assert {m.workspace.slug for m in workspaces_for(cast.ann)} == {a.ws.slug, a.clients[1].slug}


def test_switcher_groups_clients_under_agency_and_links_dashboard(cast, client):
    login(client, cast.ann)
    html = client.get(f"/w/{cast.a.ws.slug}/").content.decode()
    assert '<optgroup label="Alpha Agency">' in html
    assert "Alpha Client 1" in html and "Alpha Client 2" in html
    assert f'href="/a/{cast.a.agency.pk}/"' in html
    assert "Zeta" not in html
    login(client, cast.ed)
    html = client.get(f"/w/{cast.a.ws.slug}/").content.decode()
    assert "Alpha Client 2" not in html and f'href="/a/{cast.a.agency.pk}/"' not in html


def test_create_clients_from_locations(cast, client, monkeypatch):
    monkeypatch.setattr("automations.views.agency.LOCATIONS", FakeLocations())
    agency_conn = Connection.objects.create(workspace=cast.a.ws, app="gohighlevel", name="Agency OAuth",
                                            config={"company_id": "co1"})
    login(client, cast.ann)
    page = client.get(f"/a/{cast.a.agency.pk}/clients/?connection={agency_conn.pk}").content.decode()
    assert "Sunrise Bakery" in page and "Harbor Vets" in page
    client.post(f"/a/{cast.a.agency.pk}/clients/create", {"connection": agency_conn.pk, "location": ["loc1", "loc2"]})
    made = cast.a.agency.workspaces.filter(name__in=["Sunrise Bakery", "Harbor Vets"])
    assert made.count() == 2
    for ws in made:
        assert Connection.objects.in_workspace(ws).get().config["location_id"] in ("loc1", "loc2")
    page = client.get(f"/a/{cast.a.agency.pk}/clients/?connection={agency_conn.pk}").content.decode()
    assert "already a client" in page
    # another agency's connection id cannot be used
    foreign = Connection.objects.create(workspace=cast.b.ws, app="gohighlevel", name="Zeta OAuth", config={})
    assert client.post(f"/a/{cast.a.agency.pk}/clients/create", {"connection": foreign.pk, "location": ["loc1"]}).status_code == 404


def test_plain_workspace_membership_still_works(db, ws, alice, vera, charlie, client):
    """Workspaces outside any agency keep the old rules (owner/editor/viewer by Membership)."""
    client.force_login(alice)
    assert client.get(f"/w/{ws.slug}/").status_code == 200
    client.force_login(charlie)
    assert client.get(f"/w/{ws.slug}/").status_code == 404
    client.force_login(vera)
    assert client.get(f"/w/{ws.slug}/").status_code == 200
