"""Real browser (Playwright + Debian's Chromium): a marketer finds a failed run with the filters,
inspects the error the CRM gave, fixes the flow's mapping, replays the run on the new version and
sees it succeed. The CRM is a real HTTP server on loopback. Screenshots go to /tmp/shots/runs-*.png."""
import re

import pytest

from automations.engine import execute_run, start_run
from automations.flows import publish
from automations.models import Flow, Membership, Run, Workspace
from tests.conftest import browser_login

pytestmark = pytest.mark.browser


def _flow(ws, name, url, email_path):
    flow = Flow.objects.create(workspace=ws, name=name, enabled=True, draft={
        "trigger": {"operation": "webhook.catch_hook", "inputs": {}},
        "steps": [{"id": "s1", "key": "crm", "name": "Create CRM contact", "operation": "http.request",
                   "inputs": {"method": "POST", "url": url, "body": {"email": "{{ %s }}" % email_path}}}]})
    publish(flow)
    return flow


def test_failed_run_is_found_inspected_and_replayed_after_the_fix(browser, live_server, transactional_db,
                                                                  django_user_model, recorder):
    ws = Workspace.objects.create(name="Acme Dental", slug="acme")
    user = django_user_model.objects.create_user(username="maria", password="pw-maria-123")
    Membership.objects.create(user=user, workspace=ws, role=Membership.OWNER)
    crm = recorder.url + "/contacts"
    good = _flow(ws, "Newsletter signups", crm, "trigger.email")
    broken = _flow(ws, "Website leads", crm, "trigger.mail")  # the mistake: the payload's key is "email"
    for i in range(3):
        execute_run(start_run(good, {"email": f"reader{i}@example.com"}).pk)
    recorder.script = [(422, {"message": "email is required"}, {})]
    failed = start_run(broken, {"email": "jane@example.com", "name": "Jane"})
    assert execute_run(failed.pk) == Run.FAILED
    execute_run(start_run(good, {"email": "jane.other@example.com"}).pk)

    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.set_default_timeout(10_000)
    browser_login(page, live_server.url, "maria", "pw-maria-123", lands_on=r"/w/acme/")

    # Find it: failed runs whose data mentions jane.
    page.goto(live_server.url + "/w/acme/runs/")
    assert page.locator("#runs-results tbody tr").count() == 5
    page.select_option("select[name=status]", "failed")
    page.fill("input[name=q]", "jane")
    page.click("text=Apply filters")
    page.wait_for_function("() => document.querySelectorAll('#runs-results tbody tr').length === 1")
    assert "status=failed" in page.url and "q=jane" in page.url
    row = page.locator("#runs-results tbody tr").first
    assert "Website leads" in row.inner_text() and "Failed" in row.inner_text()
    page.screenshot(path="/tmp/shots/runs-filtered.png")

    # Inspect it: the step's error and what the CRM answered.
    row.locator(f"a[href$='/runs/{failed.pk}/']").click()
    page.wait_for_url(re.compile(rf"/runs/{failed.pk}/$"))
    body = page.inner_text("main")
    assert "Failed" in body and "in step “Create CRM contact”" in body
    assert "answered HTTP 422: email is required" in body
    page.screenshot(path="/tmp/shots/runs-failed-run.png", full_page=True)

    # Fix the cause (the mapping) and publish version 2, then replay on it.
    broken.draft["steps"][0]["inputs"]["body"] = {"email": "{{ trigger.email }}"}
    broken.save()
    publish(broken)
    page.reload()
    page.click("text=Replay on the latest version (v2)")
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    replay = Run.objects.get(replay_of=failed)
    assert page.url.endswith(f"/runs/{replay.pk}/") and replay.version.number == 2
    assert execute_run(replay.pk) == Run.SUCCEEDED
    page.reload()
    page.wait_for_selector("text=Succeeded")
    assert f"run #{failed.pk}" in page.inner_text("main")
    page.screenshot(path="/tmp/shots/runs-replayed.png", full_page=True)
    assert recorder.json_bodies()[-1] == {"email": "jane@example.com"}
