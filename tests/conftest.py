"""Shared fixtures: a fixed cast (alice owns the workspace, bob edits it, vera views it, charlie
has no access) and small helpers to build flows."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from automations.flows import publish
from automations.models import Flow, Membership, Workspace
from connectors import safehttp


@pytest.fixture(autouse=True)
def _close_shared_http_clients():
    """Each test ends with the process's shared outbound clients closed. A pooled keep-alive connection to
    the live server keeps one of its request threads, and that thread's database session, open: on
    PostgreSQL the test database could then not be dropped at the end of the run."""
    yield
    for client in list(safehttp._clients.values()):
        client.close()
    safehttp._clients.clear()


@pytest.fixture
def ws(db):
    return Workspace.objects.create(name="Acme Dental", slug="acme")


@pytest.fixture
def other_ws(db):
    return Workspace.objects.create(name="Other Client", slug="other")


def _user(django_user_model, name):
    return django_user_model.objects.create_user(username=name, password="pw-" + name, email=f"{name}@example.com")


@pytest.fixture
def alice(db, ws, django_user_model):
    u = _user(django_user_model, "alice")
    Membership.objects.create(user=u, workspace=ws, role=Membership.OWNER)
    return u


@pytest.fixture
def bob(db, ws, django_user_model):
    u = _user(django_user_model, "bob")
    Membership.objects.create(user=u, workspace=ws, role=Membership.EDITOR)
    return u


@pytest.fixture
def vera(db, ws, django_user_model):
    u = _user(django_user_model, "vera")
    Membership.objects.create(user=u, workspace=ws, role=Membership.VIEWER)
    return u


@pytest.fixture
def charlie(db, other_ws, django_user_model):
    u = _user(django_user_model, "charlie")
    Membership.objects.create(user=u, workspace=other_ws, role=Membership.OWNER)
    return u


@pytest.fixture
def make_flow(ws):
    def make(steps, trigger=None, name="Test flow", enabled=True, workspace=None):
        flow = Flow.objects.create(workspace=workspace or ws, name=name, enabled=enabled,
                                   draft={"trigger": trigger or {"operation": "webhook.catch_hook", "inputs": {}},
                                          "steps": steps})
        publish(flow)
        return flow

    return make


class Recorder:
    """A real HTTP server on loopback that records requests and answers from a script."""

    def __init__(self):
        self.requests = []
        self.script = []  # list of (status, body, headers) consumed in order; then 200 {"ok": true}
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stalls)
            def log_message(self, *a):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with recorder.lock:
                    recorder.requests.append({"method": self.command, "path": self.path,
                                              "headers": dict(self.headers), "body": body})
                    status, payload, headers = recorder.script.pop(0) if recorder.script else (200, {"ok": True}, {})
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def json_bodies(self):
        return [json.loads(r["body"] or b"null") for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder(settings):
    settings.SSRF_ALLOW_LOOPBACK = True
    r = Recorder()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def sent_tasks(monkeypatch):
    """Unit tests don't talk to the queue: record what would be sent (e2e tests use a real one)."""
    sent = []
    monkeypatch.setattr("automations.tasks._send", lambda func, *args: sent.append((func, *args)))
    return sent


CHROMIUM = "/usr/bin/chromium"  # Debian's Chromium (`make test` installs it); Playwright drives it


@pytest.fixture
def browser():
    """A headless Chromium for the browser tests. The ORM is used between Playwright calls, which
    run an event loop in this thread, so Django's async-safety check is lifted for the test only."""
    import os
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync"])
            yield b
            b.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def browser_login(page, base_url, username, password, lands_on=r"/w/"):
    """Log in through the login form, as a user would, and wait for the landing page."""
    import re

    page.goto(base_url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(lands_on))
