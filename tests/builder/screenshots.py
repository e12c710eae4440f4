"""Screenshots of every page a marketer sees (docs/UI-REVIEW.md), 1280x800, headless Debian Chromium.

    .venv/bin/python tests/builder/screenshots.py [OUT_DIR]      # default /tmp/review

Builds a throw-away data dir (demo data + a flow with every step type + succeeded, failed runs),
starts `runserver` on 127.0.0.1:8765 with loopback allowed, takes the shots, stops the server.
Not a test (pytest does not collect it); docs/screenshots/ holds a compressed selection.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/review")

EXTRA_DATA = r'''
import sys
from automations.engine import execute_run, start_run
from automations.flows import publish
from automations.models import Flow, Workspace
BASE = "%(base)s"
ws = Workspace.objects.get(slug="demo")
f = Flow.objects.create(workspace=ws, name="Every step type", tags="demo, review", draft={
    "trigger": {"operation": "webhook.catch_hook", "inputs": {}},
    "steps": [
        {"id": "s1", "key": "only_leads", "name": "Only leads", "operation": "flow.filter",
         "inputs": {"conditions": {"any": [{"all": [{"left": "{{ trigger.tags }}", "op": "contains", "right": "lead"}]}]}}},
        {"id": "s2", "key": "first", "name": "First name", "operation": "flow.formatter",
         "inputs": {"value": "{{ trigger.name }}", "transform": "first_name"}},
        {"id": "s3", "key": "route", "name": "Route by source", "operation": "flow.paths", "branches": [
            {"name": "Ads", "conditions": {"any": [{"all": [{"left": "{{ trigger.source }}", "op": "equals", "right": "ads"}]}]},
             "steps": [{"id": "s4", "key": "wait", "name": "Wait an hour", "operation": "flow.delay", "inputs": {"minutes": 60}}]},
            {"name": "Everything else", "conditions": {"any": [{"all": [{"left": "{{ trigger.source }}", "op": "exists"}]}]}, "steps": []}]},
        {"id": "s5", "key": "each", "name": "Each item", "operation": "flow.loop", "inputs": {"items": "{{ trigger.items }}"}, "steps": [
            {"id": "s6", "key": "post", "name": "Send item", "operation": "http.request",
             "inputs": {"method": "POST", "url": BASE + "/sandbox/echo", "body_type": "json", "body": {"item": "{{ loop.item }}"}}}]}]},
    sample_data={"trigger": {"name": "Jane van Dyke", "email": "jane@example.com", "tags": ["lead"], "source": "ads", "items": [1, 2]}, "steps": {}})
publish(f)
bad = Flow.objects.create(workspace=ws, name="Old CRM sync", tags="crm", enabled=True, draft={
    "trigger": {"operation": "webhook.catch_hook", "inputs": {}},
    "steps": [{"id": "s1", "key": "clean", "name": "Clean the email", "operation": "flow.formatter", "inputs": {"value": "{{ trigger.email }}", "transform": "lower"}},
              {"id": "s2", "key": "push", "name": "Push to the old CRM", "operation": "http.request",
               "inputs": {"method": "POST", "url": BASE + "/sandbox/gohighlevel/contacts/", "body_type": "json", "body": {"email": "{{ steps.clean.value }}"}}}]})
publish(bad)
crm = Flow.objects.get(workspace=ws, name__startswith="New lead webhook")
ghl = Flow.objects.get(workspace=ws, name__startswith="Website lead")
for flow, payload in ((crm, {"name": "Jane van Dyke", "email": " JANE@Example.com ", "phone": "(555) 010-2030"}),
                      (crm, {"name": "Omar Haddad", "email": "omar@example.com", "phone": "555 010 4040"}),
                      (ghl, {"name": "Lena Fischer", "email": "lena@example.com", "phone": "555-010-7070"}),
                      (bad, {"email": "Ana@Example.com"})):  # 401 from the sandbox: a failed run
    execute_run(start_run(flow, payload, source="manual").pk)
'''


ONLY = set(sys.argv[2].split(",")) if len(sys.argv) > 2 else None


def main():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        ctx = b.new_context(viewport={"width": 1280, "height": 800})
        pg = ctx.new_page()
        pg.set_default_timeout(15000)

        def shot(name, full=False):
            if ONLY and name not in ONLY:
                return
            pg.wait_for_load_state("networkidle")
            pg.wait_for_timeout(250)
            pg.screenshot(path=str(OUT / f"{name}.png"), full_page=full)

        def go(path):
            pg.goto(BASE + path)
            pg.wait_for_load_state("networkidle")

        go("/login/")
        shot("01-login")
        pg.fill("input[name=username]", "demo")
        pg.fill("input[name=password]", "flowline-demo")
        pg.click("button[type=submit]")
        pg.wait_for_url(re.compile(r"/w/"))
        shot("02-workspace-home")
        go("/w/demo/flows/"); shot("03-flows-full")
        go("/w/demo-gym/flows/"); shot("04-flows-empty")
        from_flow = lambda name: pg.locator("#flow-table a", has_text=name).first.get_attribute("href")
        go("/w/demo/flows/")
        every = from_flow("Every step type")
        ghl = from_flow("Website lead")
        crm = from_flow("New lead webhook")
        m = re.search(r"/flows/(\d+)/", every); every_id = m.group(1)
        ghl_id = re.search(r"/flows/(\d+)/", ghl).group(1)
        crm_id = re.search(r"/flows/(\d+)/", crm).group(1)
        def ed(fid, sid):
            go(f"/w/demo/flows/{fid}/edit/?open={sid}")
            pg.evaluate(f"document.querySelector('#card-{sid}').scrollIntoView({{block: 'start'}}); window.scrollBy(0, -16)")
        ed(crm_id, "trigger"); shot("05-editor-trigger-webhook")
        ed(ghl_id, "s3"); shot("06-editor-ghl-task")
        pg.evaluate("window.scrollTo(0, 0)")
        ed(every_id, "s1"); shot("07-editor-filter")
        ed(every_id, "s2"); shot("08-editor-formatter")
        ed(every_id, "s3"); shot("09-editor-paths")
        ed(every_id, "s4"); shot("10-editor-delay")
        ed(every_id, "s5"); shot("11-editor-loop")
        ed(every_id, "s6"); shot("12-editor-http")
        # catalogue search on a new flow
        go("/w/demo/flows/")
        pg.fill("#new-flow-name", "Catalogue review")
        pg.click("text=+ New flow")
        pg.wait_for_selector("#card-trigger .catalogue")
        shot("13-catalogue")
        pg.locator("#card-trigger .cat-search input").fill("contact")
        pg.wait_for_selector("#cat-results-trigger .op-choice")
        shot("14-catalogue-search")
        # picker open
        ed(crm_id, "s2")
        btn = pg.locator("#card-s2 .insert-btn").first
        btn.click()
        shot("15-data-picker")
        go(f"/w/demo/flows/{crm_id}/versions/"); shot("16-versions")
        go(f"/w/demo/flows/{crm_id}/"); shot("17-flow-detail")
        go("/w/demo/connections/"); shot("18-connections")
        go("/w/demo/connections/new?app=gohighlevel"); shot("19-connection-new-ghl")
        go("/w/demo/connections/new?app=mailersend"); shot("20-connection-new-mailersend")
        go("/w/demo/runs/"); shot("21-runs")
        go("/w/demo/runs/?status=failed")
        href = pg.locator("a[href*='/runs/']", has_text=re.compile(r"#?\d+|Old CRM")).first.get_attribute("href")
        go(href); shot("22-run-failed"); shot("22b-run-failed-full", full=True)
        go("/w/demo/dashboard/"); shot("23-dashboard")
        go("/")
        agency = pg.locator("header a[href^='/a/']").first.get_attribute("href")
        go(agency); shot("24-agency-dashboard")
        go(agency + "clients/"); shot("25-agency-clients")
        go(agency + "members/"); shot("25b-agency-people", full=True)
        go(agency + "templates/"); shot("26-agency-templates")
        t = pg.locator("main a[href*='/templates/']").filter(has_text="Tag new leads").first.get_attribute("href")
        go(t); shot("27-agency-template")
        go(t + "clone"); shot("28-agency-clone-wizard")
        go("/sandbox/ui/"); shot("29-sandbox-index")
        loc = pg.locator("main a[href*='/sandbox/ui/']").first.get_attribute("href")
        go(loc); shot("30-sandbox-location")
        b.close()



def serve():
    data = tempfile.mkdtemp(prefix="flowline-shots-")
    env = {**os.environ, "FLOWLINE_DATA_DIR": data, "FLOWLINE_ALLOW_LOOPBACK": "1", "FLOWLINE_PUBLIC_URL": BASE}
    for k in ("DATABASE_URL", "REDIS_URL"):
        env.pop(k, None)
    py = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run(py + ["migrate", "--noinput", "-v0"], env=env, check=True)
    subprocess.run(py + ["migrate", "--database", "broker", "--noinput", "-v0"], env=env, check=True)
    subprocess.run(py + ["seed_demo", "--base-url", BASE], env=env, check=True)
    server = subprocess.Popen(py + ["runserver", "--noreload", f"127.0.0.1:{PORT}"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            httpx.get(BASE + "/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    subprocess.run(py + ["shell", "-c", EXTRA_DATA % {"base": BASE}], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return server, data


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    server, data = serve()
    try:
        main()
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)
