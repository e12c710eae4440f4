"""Real-browser test of the issue's GoHighLevel scenario (Playwright for Python driving Debian's Chromium).

A new user with a GoHighLevel sandbox connection builds "GoHighLevel: New contact (instant) -> Filter
on tags -> GoHighLevel: Create contact task -> HTTP request": pulls trigger samples from the sandbox,
maps with the data picker and watches the live preview follow the typing, tests each step for real,
publishes and switches the flow on. Then the sandbox's location is subscribed to the flow's GoHighLevel
URL in the sandbox UI, tagged and untagged contacts are created through the sandbox API (which signs
and delivers ContactCreate events as GoHighLevel does), the runs are executed by the engine, and the
run page shows success while the task exists in the sandbox. No mocks: real HTTP all the way.
Screenshots go to /tmp/shots/ (ghl-*.png).
"""
import json

import httpx
import pytest

from automations.demo import ensure_sandbox_connection
from automations.engine import execute_run
from automations.models import Flow, Run, Workspace
from connectors.sandbox import store
from connectors.sandbox.models import SandboxLocation
from tests.builder.test_browser import add_step, card, choose, page, settle, shot  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def ghl_api(base, token, method, path, body=None):
    """Call the GoHighLevel sandbox like any API client (what a contact form or GHL itself would do)."""
    r = httpx.request(method, f"{base}/sandbox/gohighlevel{path}", json=body, timeout=15,
                      headers={"Authorization": f"Bearer {token}", "Version": "2021-07-28"})
    assert r.status_code < 300, r.text
    return r.json()


def preview_of(page, sid, field):
    return page.locator(f"#pv-{sid}-{field}").inner_text()


def test_ghl_contact_created_filter_task_http(page, live_server):
    ws = Workspace.objects.get()
    conn = ensure_sandbox_connection(ws, live_server.url)  # as the demo does: the local sandbox's location
    location = SandboxLocation.objects.get(pk=conn.config["location_id"])
    token = conn.secrets()["api_key"]
    sample = ghl_api(live_server.url, token, "POST", "/contacts/", {
        "locationId": location.pk, "firstName": "Sam", "lastName": "Sample", "email": "sam.sample@example.com",
        "tags": ["vip"]})["contact"]

    # A new flow; the trigger: GoHighLevel "New contact" (instant), found by searching the catalogue.
    page.click("header >> text=Flows")
    page.fill("#new-flow-name", "VIP contact → follow-up task")
    page.click("text=+ New flow")
    page.wait_for_selector("#card-trigger .catalogue")
    card(page, "trigger").locator(".cat-search input").fill("new contact")
    page.wait_for_selector("#cat-results-trigger .op-choice")
    settle(page)
    assert "New contact" in page.locator("#cat-results-trigger .op-choice").first.inner_text()
    shot(page, "ghl-01-catalogue-search")
    choose(page, "trigger", "new contact")
    flow = Flow.objects.get()
    assert flow.draft["trigger"]["operation"] == "gohighlevel.event.ContactCreate"
    assert flow.draft["trigger"]["connection"] == conn.pk  # the workspace's one GoHighLevel account, chosen
    assert page.locator("#conn-trigger").input_value() == str(conn.pk)
    ghl_url = page.locator(f"#ghl-hook-{flow.pk}").input_value()
    assert ghl_url.endswith(f"/hooks/ghl/{flow.webhook_token}")

    # Test the trigger: the newest contact of the sandbox location comes back as the sample event.
    page.click("#card-trigger >> text=Test trigger: pull samples")
    page.wait_for_selector("#card-trigger .test-result.ok")
    assert "sam.sample@example.com" in card(page, "trigger").locator(".test-result").inner_text()
    assert Flow.objects.get().sample_data["trigger"]["id"] == sample["id"]
    shot(page, "ghl-02-trigger-tested")

    # Filter: only contacts tagged "vip"; the left side comes from the data picker.
    s_filter = add_step(page, "filter")
    c = card(page, s_filter)
    c.locator(".cond-row .insert-btn").first.click()
    picker = c.locator(".picker")
    picker.locator(".picker-search").fill("tags")
    picker.locator(".pick:not([hidden])", has_text="tags").first.click()
    assert c.locator(".cond-row input").first.input_value() == "{{ trigger.tags }}"
    c.locator(".cond-row select").first.select_option("contains")
    c.locator(".cond-row input[name$='-right']").first.fill("vip")
    c.locator("text=Test step").click()
    page.wait_for_selector(f"#card-{s_filter} .test-result.ok")
    shot(page, "ghl-03-filter-tested")

    # GoHighLevel: create a task for the trigger's contact.
    s_task = add_step(page, "create task")
    c = card(page, s_task)
    assert "Create Contact Task" in c.locator(".op-line").inner_text()
    assert c.locator(f"#conn-{s_task}").input_value() == str(conn.pk)
    c.locator(f"#in-{s_task}-contactId ~ .insert-btn").click()  # the data picker, searched by the sample's value
    picker = c.locator(".picker")
    picker.locator(".picker-search").fill(sample["id"].lower())
    picker.locator(".pick:not([hidden])").first.click()
    assert c.locator(f"#in-{s_task}-contactId").input_value() == "{{ trigger.id }}"
    page.wait_for_function(f"() => document.querySelector('#pv-{s_task}-contactId').innerText.includes('{sample['id']}')")
    title = c.locator(f"#in-{s_task}-title")
    title.type("Call {{ trigger.firstName }}")
    page.wait_for_function(f"() => document.querySelector('#pv-{s_task}-title').innerText.includes('Call Sam')")
    assert "Sample" not in preview_of(page, s_task, "title")
    title.type(" {{ trigger.lastName }}")  # the preview follows the typing
    page.wait_for_function(f"() => document.querySelector('#pv-{s_task}-title').innerText.includes('Call Sam Sample')")
    c.locator(f"#in-{s_task}-dueDate").fill("{{ 'now' | add_days(1) }}")
    c.locator(f"#in-{s_task}-completed").select_option("false")
    shot(page, "ghl-04-task-mapping")
    c.locator("text=Test step").click()
    page.wait_for_selector(f"#card-{s_task} .test-result")
    result = card(page, s_task).locator(".test-result")
    assert "Test succeeded" in result.inner_text(), result.inner_text()
    assert "Call Sam Sample" in result.inner_text()
    shot(page, "ghl-05-task-tested")

    # HTTP request to the local echo service, the body mapped from the task and the contact.
    task_key = Flow.objects.get().draft["steps"][1]["key"]
    s_http = add_step(page, "http request")
    c = card(page, s_http)
    c.locator("input[name=url]").fill(live_server.url + "/sandbox/echo")
    c.locator("select[name=method]").select_option("POST")
    c.locator("details.optional summary").click()
    c.locator("textarea[name=body]").fill(json.dumps({"task": "{{ steps.%s.task.id }}" % task_key,
                                                      "title": "{{ steps.%s.task.title }}" % task_key,
                                                      "email": "{{ trigger.email }}"}))
    c.locator("text=Test step").click()
    page.wait_for_selector(f"#card-{s_http} .test-result")
    result = card(page, s_http).locator(".test-result")
    assert "Test succeeded" in result.inner_text(), result.inner_text()
    assert "sam.sample@example.com" in result.inner_text() and "Call Sam Sample" in result.inner_text()
    shot(page, "ghl-06-http-tested")

    # Publish and switch on.
    page.click("#flow-head button.btn-primary:has-text('Publish')")
    page.wait_for_selector("#flow-head .flash-success:has-text('Published version 1')")
    page.click("#flow-head .switch")
    page.wait_for_selector("#flow-head .switch.on")
    shot(page, "ghl-07-published-on")

    # In the sandbox UI: deliver the location's ContactCreate events to the flow's GoHighLevel URL.
    page.goto(live_server.url + "/sandbox/ui/")
    page.click(f"a[href$='/sandbox/ui/{location.pk}/']")
    page.fill("#sbx-url", ghl_url)
    page.locator("#sbx-events").select_option("ContactCreate")
    page.click("text=Subscribe")
    page.wait_for_selector(f"text={ghl_url}")

    # Contacts arrive in GoHighLevel (the sandbox): one tagged "vip", one not.
    vip = ghl_api(live_server.url, token, "POST", "/contacts/", {
        "locationId": location.pk, "firstName": "Nina", "lastName": "Novak", "email": "nina@example.com",
        "tags": ["vip", "webinar"]})["contact"]
    ghl_api(live_server.url, token, "POST", "/contacts/", {
        "locationId": location.pk, "firstName": "Ulla", "email": "ulla@example.com", "tags": ["newsletter"]})
    runs = list(Run.objects.filter(flow=flow).order_by("id"))
    assert [r.trigger_payload["email"] for r in runs] == ["nina@example.com", "ulla@example.com"]
    assert [execute_run(r.pk) for r in runs] == [Run.SUCCEEDED, Run.HALTED]  # the filter stops Ulla's

    # The run page: succeeded, each step's output, the task in the sandbox.
    page.goto(f"{live_server.url}/w/acme/flows/{flow.pk}/")
    page.wait_for_selector("text=Succeeded")
    page.goto(f"{live_server.url}/w/acme/runs/{runs[0].pk}/")
    page.wait_for_selector("text=Succeeded")
    text = page.inner_text("main")
    assert "Call Nina Novak" in text and "nina@example.com" in text
    shot(page, "ghl-08-run", full=True)
    tasks = [t.data for t in store.records(location, "task")]
    made = [t for t in tasks if t.get("title") == "Call Nina Novak"]
    assert len(made) == 1 and made[0]["contactId"] == vip["id"]
    assert not [t for t in tasks if "Ulla" in (t.get("title") or "")]
    page.goto(f"{live_server.url}/sandbox/ui/{location.pk}/?kind=task")
    assert "Call Nina Novak" in page.inner_text("main")
    shot(page, "ghl-09-sandbox-task")
