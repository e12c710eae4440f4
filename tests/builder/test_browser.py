"""Real-browser tests of the builder (Playwright for Python driving Debian's Chromium).

A new user builds Webhook -> Filter -> Formatter -> HTTP request (to the local echo endpoint),
tests each step, publishes, turns the flow on, runs it and sees the run; the mapping preview
updates as they type; restoring a version works. Screenshots of every page go to /tmp/shots/.
"""
import json
import re
from pathlib import Path

import pytest

from automations.engine import execute_run
from automations.models import Flow, Membership, Run, Workspace
from tests.conftest import browser_login

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
SAMPLE = {"email": "Jane@Example.com", "first_name": "Jane", "tags": ["lead", "vip"]}


@pytest.fixture
def page(browser, live_server, transactional_db, settings, django_user_model):
    settings.SSRF_ALLOW_LOOPBACK = True
    ws = Workspace.objects.create(name="Acme Dental", slug="acme")
    user = django_user_model.objects.create_user(username="maria", password="pw-maria-123")
    Membership.objects.create(user=user, workspace=ws, role=Membership.OWNER)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    pg.on("dialog", lambda d: d.accept())
    browser_login(pg, live_server.url, "maria", "pw-maria-123", lands_on=r"/w/acme/")
    yield pg
    shot(pg, "zz-last-state", full=True)  # what the page showed when the test ended (or failed)
    context.close()


def shot(page, name, full=False):
    SHOTS.mkdir(exist_ok=True)
    page.wait_for_timeout(150)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def settle(page):
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def card(page, sid):
    return page.locator(f"#card-{sid}")


def choose(page, sid, query):
    """Search the open catalogue of card `sid` and take the first result with Enter."""
    search = card(page, sid).locator(".cat-search input")
    search.fill(query)
    page.wait_for_selector(f"#cat-results-{sid} .op-choice", timeout=20_000)
    settle(page)
    search.press("Enter")
    page.wait_for_selector(f"#card-{sid} .step-form")
    settle(page)


def add_step(page, query):
    before = page.locator(".step-node").count()
    page.locator(".add-end .add-step").last.click()
    page.wait_for_function(f"() => document.querySelectorAll('.step-node').length > {before}")
    settle(page)
    sid = page.locator(".step-node .step-card.open").last.get_attribute("data-sid")
    choose(page, sid, query)
    return sid


def test_new_user_builds_tests_publishes_and_runs_a_flow(page, live_server):
    page.click("text=Flows")
    shot(page, "01-flows-empty")
    page.fill("#new-flow-name", "New lead to CRM")
    page.click("text=+ New flow")
    page.wait_for_selector("#card-trigger .catalogue")
    shot(page, "02-editor-new")

    # Trigger: catch a webhook, with a pasted sample.
    choose(page, "trigger", "catch webhook")
    page.fill("#card-trigger textarea[name=sample]", json.dumps(SAMPLE))
    page.click("#card-trigger >> text=Use this sample")
    page.wait_for_selector("#card-trigger .test-result.ok")
    shot(page, "03-trigger-tested")

    # Filter: tags contains "lead", the left side inserted with the data picker.
    s_filter = add_step(page, "filter")
    c = card(page, s_filter)
    c.locator(".cond-row .insert-btn").first.click()
    picker = c.locator(".picker")
    picker.locator(".picker-search").fill("tags")
    shot(page, "04-data-picker")
    picker.locator(".pick", has_text="tags").first.click()
    assert c.locator(".cond-row input").first.input_value() == "{{ trigger.tags }}"
    c.locator(".cond-row select").first.select_option("contains")
    c.locator(".cond-row input[name$='-right']").first.fill("lead")
    c.locator("text=Test step").click()
    page.wait_for_selector(f"#card-{s_filter} .test-result.ok")
    shot(page, "05-filter-tested")

    # Formatter: the preview follows the typing.
    s_fmt = add_step(page, "formatter")
    c = card(page, s_fmt)
    value = c.locator("textarea[name=value], input[name=value]").first
    value.type("Hi {{ trigger.first_name }}")
    page.wait_for_selector(f"#pv-{s_fmt}-value .pv-value", timeout=5000)
    assert "Hi Jane" in c.locator(f"#pv-{s_fmt}-value").inner_text()
    value.fill("")
    value.type("{{ trigger.email }}")
    page.wait_for_function(f"() => document.querySelector('#pv-{s_fmt}-value').innerText.includes('Jane@Example.com')")
    assert c.locator(f"#pv-{s_fmt}-value .chip").inner_text().startswith("Trigger")
    c.locator("select[name=transform]").select_option("lower")
    shot(page, "06-formatter-preview")
    c.locator("text=Test step").click()
    page.wait_for_selector(f"#card-{s_fmt} .test-result.ok")
    assert "jane@example.com" in card(page, s_fmt).locator(".test-result").inner_text()

    # HTTP request to the local echo endpoint, the body mapped from the formatter's output.
    s_http = add_step(page, "http request")
    c = card(page, s_http)
    key = Flow.objects.get().draft["steps"][1]["key"]
    c.locator("input[name=url]").fill(live_server.url + "/sandbox/echo")
    c.locator("select[name=method]").select_option("POST")
    c.locator("details.optional summary").click()
    c.locator("textarea[name=body]").fill(json.dumps({"email": "{{ steps.%s.value }}" % key, "source": "flowline"}))
    c.locator("text=Test step").click()
    page.wait_for_selector(f"#card-{s_http} .test-result")
    result = card(page, s_http).locator(".test-result")
    shot(page, "07-http-tested")
    assert "Test succeeded" in result.inner_text(), result.inner_text()
    assert "jane@example.com" in result.inner_text() and "Response received" in result.inner_text()

    # Publish, switch on, run with the sample and see the run.
    page.click("#flow-head button.btn-primary:has-text('Publish')")
    page.wait_for_selector("#flow-head .flash-success:has-text('Published version 1')")
    page.click("#flow-head .switch")
    page.wait_for_selector("#flow-head .switch.on")
    shot(page, "08-published-on")
    page.click("#flow-head >> text=Run now")
    page.wait_for_url(re.compile(r"/runs/\d+/"))
    run = Run.objects.get()
    assert execute_run(run.pk) == Run.SUCCEEDED
    page.reload()
    page.wait_for_selector("text=Succeeded")
    shot(page, "09-run", full=True)
    page.goto(live_server.url + "/w/acme/flows/")
    assert "Succeeded" in page.inner_text("#flow-table")
    shot(page, "10-flows-list")


def test_restoring_a_version(page, live_server):
    ws = Workspace.objects.get()
    flow = Flow.objects.create(workspace=ws, name="Welcome", draft={
        "trigger": {"operation": "manual.run", "inputs": {}},
        "steps": [{"id": "s1", "key": "greet", "name": "Greet", "operation": "flow.formatter",
                   "inputs": {"value": "Hello", "transform": "upper"}}]})
    from automations.flows import publish

    publish(flow)
    flow.draft = {**flow.draft, "steps": [{**flow.draft["steps"][0], "name": "Greet loudly",
                                           "inputs": {"value": "HELLO THERE", "transform": "upper"}}]}
    flow.save()
    publish(flow)
    page.goto(f"{live_server.url}/w/acme/flows/{flow.pk}/edit/")
    assert "Greet loudly" in page.inner_text("#steps")
    page.click("#flow-head >> text=History")
    page.wait_for_selector("#versions")
    shot(page, "11-versions")
    page.locator("#versions .version", has_text="Version 1").locator("text=Restore into draft").click()
    page.wait_for_selector("text=Version 1 is back in the draft")
    assert "Greet loudly" not in page.inner_text("#steps") and "Greet" in page.inner_text("#steps")
    assert Flow.objects.get(pk=flow.pk).draft["steps"][0]["inputs"]["value"] == "Hello"
    shot(page, "12-restored")


def test_connections_page_and_catalogue(page, live_server):
    page.goto(live_server.url + "/w/acme/connections/")
    shot(page, "13-connections")
    page.goto(live_server.url + "/w/acme/flows/")
    page.fill("#new-flow-name", "Catalogue check")
    page.click("text=+ New flow")
    page.wait_for_selector("#card-trigger .catalogue")
    page.locator("#card-trigger .app-tile").first.click()
    page.wait_for_selector("#card-trigger .op-choice")
    shot(page, "14-catalogue-app")
