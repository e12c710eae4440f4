"""Connections page: list with usage, add from the form the app declares, test, rotate, delete;
adding from an editor card selects the new connection for that step."""
import pytest

from connectors import errors, registry
from connectors.context import Result
from connectors.spec import SEARCH, App, AuthField, Operation

from automations.models import Connection, Flow

from .conftest import hx

GOOD = "good-key-123456789"


def who_am_i(op, ctx):
    if ctx.credentials.secrets().get("api_key") != GOOD:
        raise errors.StepError(errors.AUTH, "The API key was refused (401)")
    return Result(output={"name": "Acme"})


@pytest.fixture
def crm(monkeypatch):
    registry._load()
    app = App(key="crm", label="Acme CRM", auth=("api_key",), auth_fields=(
        AuthField("api_key", "API key", help="Settings → API"), AuthField("region", "Region", secret=False, required=False)))
    op = Operation(key="crm.me", app="crm", kind=SEARCH, label="Who am I", handler=f"{__name__}.who_am_i", curated=True,
                   scopes=("contacts.readonly",))
    monkeypatch.setitem(registry._apps, "crm", app)
    monkeypatch.setitem(registry._ops, "crm.me", op)
    return app


@pytest.fixture
def conn(ws, crm):
    c = Connection(workspace=ws, app="crm", name="Main CRM", auth_kind="api_key", config={"region": "eu"})
    c.set_secrets({"api_key": GOOD})
    c.save()
    return c


def test_list_shows_status_and_usage(client, alice, conn, flow):
    d = flow.draft
    d["steps"].append({"id": "s3", "name": "Me", "operation": "crm.me", "connection": conn.pk, "inputs": {}})
    Flow.objects.filter(pk=flow.pk).update(draft=d)
    client.force_login(alice)
    body = client.get("/w/acme/connections/").content.decode()
    assert "Main CRM" in body and "Not tested" in body and "Used by" in body and "Lead intake" in body
    assert GOOD not in body and "Rotate key" in body


def test_empty_state(client, alice):
    client.force_login(alice)
    assert "No connections yet" in client.get("/w/acme/connections/").content.decode()


def test_add_form_comes_from_the_app_and_tests_the_key(client, alice, crm):
    client.force_login(alice)
    form = hx(client, "get", "/w/acme/connections/new", {"app": "crm"}).content.decode()
    assert 'name="api_key"' in form and 'type="password"' in form and 'name="region"' in form and "Settings → API" in form
    missing = hx(client, "post", "/w/acme/connections/add", {"app": "crm", "kind": "api_key", "region": "us"}).content.decode()
    assert "Required." in missing and 'value="us"' in missing and not Connection.objects.exists()
    r = hx(client, "post", "/w/acme/connections/add", {"app": "crm", "kind": "api_key", "name": "CRM", "api_key": GOOD, "region": "us"})
    assert r["HX-Redirect"] == "/w/acme/connections/"
    c = Connection.objects.get()
    assert c.secrets() == {"api_key": GOOD} and c.config == {"region": "us"} and c.status == Connection.OK
    assert GOOD not in c.secret_blob


def test_add_from_an_editor_card_selects_it(client, alice, crm, flow, url):
    client.force_login(alice)
    hx(client, "post", url("steps/s2/operation"), {"operation": "crm.me"})
    card = hx(client, "get", url("steps/s2/"), {"open": "1"}).content.decode()
    assert "+ Connect Acme CRM" in card and "No Acme CRM account" in card and "contacts.readonly" in card
    r = hx(client, "post", "/w/acme/connections/add", {"app": "crm", "kind": "api_key", "name": "CRM", "api_key": GOOD,
                                                         "flow": str(flow.pk), "step": "s2"})
    assert r["HX-Retarget"] == "#card-s2" and 'id="card-s2"' in r.content.decode()
    conn = Connection.objects.get()
    assert Flow.objects.get(pk=flow.pk).draft["steps"][1]["connection"] == conn.pk


def test_test_and_rotate(client, alice, conn):
    client.force_login(alice)
    body = hx(client, "post", f"/w/acme/connections/{conn.pk}/test").content.decode()
    assert body.strip().startswith(f'<section class="card conn-row" id="conn-{conn.pk}"') and "Working" in body
    form = hx(client, "get", f"/w/acme/connections/{conn.pk}/rotate").content.decode()
    assert "Paste the new key" in form and 'name="api_key"' in form
    body = hx(client, "post", f"/w/acme/connections/{conn.pk}/rotate", {"api_key": "wrong-key-000000000"}).content.decode()
    conn.refresh_from_db()
    assert conn.secrets()["api_key"] == "wrong-key-000000000" and conn.status == Connection.NEEDS_REAUTH
    assert "refused" in body and "wrong-key-000000000" not in body
    assert "Paste the new key" in hx(client, "post", f"/w/acme/connections/{conn.pk}/rotate", {"api_key": ""}).content.decode()


def test_delete_only_when_unused(client, alice, conn, flow):
    client.force_login(alice)
    d = flow.draft
    d["steps"][0]["connection"] = conn.pk
    Flow.objects.filter(pk=flow.pk).update(draft=d)
    r = hx(client, "post", f"/w/acme/connections/{conn.pk}/delete")
    assert r.status_code == 409 and "Lead intake" in r.content.decode()
    d["steps"][0]["connection"] = None
    Flow.objects.filter(pk=flow.pk).update(draft=d)
    assert hx(client, "post", f"/w/acme/connections/{conn.pk}/delete").status_code == 200
    assert not Connection.objects.exists()


def test_step_connection_list_is_this_workspace_only(client, alice, conn, other_ws, flow, url):
    foreign = Connection.objects.create(workspace=other_ws, app="crm", name="Their CRM")
    client.force_login(alice)
    hx(client, "post", url("steps/s2/operation"), {"operation": "crm.me"})
    card = hx(client, "get", url("steps/s2/"), {"open": "1"}).content.decode()
    assert "Main CRM" in card and "Their CRM" not in card
    hx(client, "post", url("steps/s2/save"), {"name": "Me", "connection": str(foreign.pk)})
    assert Flow.objects.get(pk=flow.pk).draft["steps"][1]["connection"] is None
    hx(client, "post", url("steps/s2/save"), {"name": "Me", "connection": str(conn.pk)})
    assert Flow.objects.get(pk=flow.pk).draft["steps"][1]["connection"] == conn.pk
