""""Test connection" tells which scopes work, against the sandbox over real HTTP."""
import pytest

from automations.models import Connection
from connectors import errors
from connectors.gohighlevel import probe
from connectors.gohighlevel.probe import probes, scope_report
from connectors.sandbox.store import create_location, issue_token


@pytest.fixture
def sandbox(live_server, settings, transactional_db):
    settings.SSRF_ALLOW_LOOPBACK = True
    location, token = create_location("Probe Co")
    return live_server.url + "/sandbox/gohighlevel", location


def connection(ws, base_url, location, token):
    c = Connection(workspace=ws, app="gohighlevel", name="GHL", auth_kind="api_key",
                   config={"base_url": base_url, "location_id": location.pk, "sandbox": True})
    c.set_secrets({"api_key": token})
    c.save()
    return c


def test_probes_are_read_calls_chosen_from_the_catalogue():
    chosen = probes()
    assert {"contacts.readonly", "calendars.readonly", "opportunities.readonly", "users.readonly"} <= set(chosen)
    assert all(op.method == "GET" and not op.required_params for op in chosen.values())


def test_reports_granted_and_missing_scopes(sandbox, ws):
    base, location = sandbox
    token = issue_token(location, scopes=["contacts.readonly", "calendars.readonly"])
    report = scope_report(connection(ws, base, location, token.token))
    assert report["contacts.readonly"] == "ok" and report["calendars.readonly"] == "ok"
    assert report["opportunities.readonly"] == "denied" and report["users.readonly"] == "denied"
    ok, message = probe.test_connection(connection(ws, base, location, token.token))
    assert ok and "Not granted: " in message and "opportunities.readonly" in message


def test_invalid_token_is_an_auth_error(sandbox, ws):
    base, location = sandbox
    with pytest.raises(errors.StepError) as exc:
        probe.test_connection(connection(ws, base, location, "not-a-token"))
    assert exc.value.category == errors.AUTH
