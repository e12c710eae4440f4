"""Real browser (Playwright + Debian's Chromium): an agency owner clones a template into three
clients with the wizard, runs happen, and the agency dashboard shows each client's runs.
Screenshots go to /tmp/shots/agency-*.png."""
from pathlib import Path

import pytest

from automations import agency as A
from automations.engine import execute_run, start_run
from automations.models import Agency, AgencyMembership, Connection, FlowTemplate, TemplateClone, Workspace

from .conftest import DEFINITION, INPUTS
from tests.conftest import browser_login

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
CLIENTS = [("Smile Dental", "smile"), ("Peak Roofing", "peak"), ("Ironworks Gym", "iron")]


def shot(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"agency-{name}.png"), full_page=True)


def test_owner_clones_to_three_clients_and_sees_their_runs(browser, live_server, transactional_db, django_user_model):
    owner = django_user_model.objects.create_user(username="olivia", password="pw-olivia-123")
    agency = Agency.objects.create(name="Brightside Agency")
    AgencyMembership.objects.create(user=owner, agency=agency, role=AgencyMembership.OWNER)
    clients = []
    for name, slug in CLIENTS:
        ws = Workspace.objects.create(agency=agency, name=name, slug=slug)
        Connection.objects.create(workspace=ws, app="http", name=f"{name} CRM")
        clients.append(ws)
    other = Workspace.objects.create(agency=Agency.objects.create(name="Other Agency"), name="Not Mine", slug="notmine")
    template = FlowTemplate.objects.create(agency=agency, name="Tag new leads")
    A.add_version(template, DEFINITION, INPUTS)

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(10_000)
    browser_login(page, live_server.url, "olivia", "pw-olivia-123")

    page.click("nav.mainnav >> text=Agency")
    page.click(".agency-tabs >> text=Templates")
    page.click("text=Clone to clients")
    assert "Not Mine" not in page.content()
    for name, _ in CLIENTS:
        page.check(f"#choose-clients label:has-text('{name}') input")
    page.click("text=Bind inputs")
    for ws in clients:
        fieldset = page.locator(f"fieldset[data-client='{ws.slug}']")
        assert fieldset.locator("select option:checked").inner_text() == f"{ws.name} CRM"  # pre-bound
        fieldset.locator(f"input[name='c{ws.pk}_var_tag_name']").fill(f"lead-{ws.slug}")
    shot(page, "1-wizard")
    page.click("text=Clone to 3 clients")
    page.wait_for_selector("#report")
    shot(page, "2-report")
    assert page.locator("#report .badge-ok").count() == 3

    for ws in clients:
        flow = TemplateClone.objects.get(workspace=ws).flow
        run = start_run(flow, {"email": "Jane@Example.com", "first_name": "Jane"})
        assert execute_run(run.pk) == "succeeded"
        assert run.steps.get(step_id="s2").output["value"] == f"lead-{ws.slug}:Jane"

    page.click("text=Agency dashboard")
    page.wait_for_selector("#clients")
    shot(page, "3-dashboard")
    for ws in clients:
        row = page.locator(f"#clients tr[data-client='{ws.slug}']")
        assert row.locator("td").nth(1).inner_text() == "1"  # one run each
    assert page.locator("#recent-runs tbody tr").count() == 3
    assert page.get_by_test_id("total-runs").inner_text() == "3"
    assert other.name not in page.content()
