"""Who may do what: vera (viewer) sees but cannot change (403); charlie (another tenant) gets 404
everywhere, for pages, partials and changes alike."""
import pytest

from automations.flows import publish
from automations.models import Connection

from .conftest import hx

READS = ["/w/acme/flows/", "{f}edit/", "{f}steps/s2/?open=1", "{f}steps/s2/catalogue", "{f}steps/s2/preview?field=value&value=x",
         "{f}steps/s2/options/transform", "{f}versions/", "/w/acme/connections/"]
CHANGES = ["/w/acme/flows/new", "{f}duplicate", "{f}delete", "{f}switch", "{f}settings", "{f}steps/add", "{f}steps/s2/move",
           "{f}steps/s2/delete", "{f}steps/s2/disable", "{f}steps/s2/operation", "{f}steps/s2/save", "{f}steps/s2/test",
           "{f}publish", "{f}versions/1/restore", "/w/acme/connections/add", "/w/acme/connections/{c}/test",
           "/w/acme/connections/{c}/rotate", "/w/acme/connections/{c}/delete"]
CHANGE_FORMS = ["{f}delete", "/w/acme/connections/new?app=http", "/w/acme/connections/{c}/rotate"]


@pytest.fixture
def urls(flow, ws):
    publish(flow)
    conn = Connection.objects.create(workspace=ws, app="crm", name="CRM")
    return lambda u: u.format(f=f"/w/acme/flows/{flow.pk}/", c=conn.pk)


def test_viewer_can_look(client, vera, urls):
    client.force_login(vera)
    for u in READS:
        assert hx(client, "get", urls(u)).status_code == 200, u
    body = client.get(urls("{f}edit/")).content.decode()
    assert "Publish</button>" not in body and "+ New flow" not in client.get("/w/acme/flows/").content.decode()


def test_viewer_cannot_change(client, vera, urls, flow):
    client.force_login(vera)
    for u in CHANGES:
        assert hx(client, "post", urls(u), {"operation": "flow.filter", "name": "x"}).status_code == 403, u
    for u in CHANGE_FORMS:
        assert hx(client, "get", urls(u)).status_code == 403, u
    flow.refresh_from_db()
    assert flow.name == "Lead intake" and len(flow.draft["steps"]) == 2


def test_other_tenant_gets_404_everywhere(client, charlie, urls):
    client.force_login(charlie)
    for u in READS + CHANGE_FORMS:
        assert hx(client, "get", urls(u)).status_code == 404, u
        if "{" in u:  # acme's flow or connection through charlie's own workspace
            assert hx(client, "get", urls(u).replace("/w/acme/", "/w/other/")).status_code == 404, u
    for u in CHANGES:
        assert hx(client, "post", urls(u)).status_code == 404, u
        if "{" in u:
            assert hx(client, "post", urls(u).replace("/w/acme/", "/w/other/")).status_code == 404, u


def test_anonymous_is_sent_to_login(client, urls):
    r = client.get(urls("{f}edit/"))
    assert r.status_code == 302 and "/login/" in r["Location"]
