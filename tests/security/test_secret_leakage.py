"""Secrets never leak (reliability.md F5): 20 distinct secret values in 20 connections; runs that hit an
upstream echoing everything it receives (200, 401, 500), time out, and fail on mappings that quote the
secret; then a grep of every table (but the encrypted `secret_blob` column), the captured logs, the pages
and exports of runs, and the alert emails finds no secret at all."""
import json
import logging
import secrets as pysecrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from automations.engine import execute_run, start_run
from automations.models import Connection, Flow, FlowVersion, Run
from connectors import registry

N = 20
# Columns holding the flow as its author typed it: some scenarios paste a secret into a step on purpose
# (to check that run data redacts it). Everything else, run tables included, is searched.
AUTHORED = {("automations_flow", "draft"), ("automations_flowversion", "definition")}
MODULES = ["automations.builtin", "connectors.builtin", "tests.security.leakapp"]


class EchoUpstream:
    """Answers with everything it got, under innocent keys, so only value-based redaction can catch it."""

    def __init__(self):
        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if self.path.startswith("/slow"):
                    time.sleep(1.0)
                status = {"/401": 401, "/500": 500}.get(self.path.split("?")[0], 200)
                data = json.dumps({"error" if status >= 400 else "ok": "echo",
                                   "you_sent": {"auth": self.headers.get("Authorization"), "extra": self.headers.get("X-Note"),
                                                "body": body},
                                   "message": f"bad credentials {self.headers.get('Authorization')} {body}"}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("X-Echo", str(self.headers.get("Authorization")))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def catalogue(settings):
    settings.FLOWLINE_APP_MODULES = MODULES
    settings.SSRF_ALLOW_LOOPBACK = True
    registry._apps.clear()
    registry._ops.clear()
    yield
    registry._apps.clear()
    registry._ops.clear()


def _flow(ws, name, steps):
    definition = {"trigger": {"operation": "webhook.catch_hook", "inputs": {}}, "steps": steps}
    flow = Flow.objects.create(workspace=ws, name=name, enabled=True, draft=definition)
    version = FlowVersion.objects.create(workspace=ws, flow=flow, number=1, definition=definition)
    flow.published = version
    flow.save(update_fields=["published"])
    return flow


def _scenarios(upstream, cid, secret):
    once = {"max_attempts": 1}
    leaky = {"id": "s1", "operation": "leaky.create", "connection": cid, "retry": once}
    pasted = {"id": "s1", "operation": "http.request", "connection": cid, "retry": once}
    return {
        "ok": [{**leaky, "inputs": {"kind": "ok", "note": "hello"}}],
        "401": [{**leaky, "inputs": {"kind": "401", "note": "hello"}}],
        "500": [{**leaky, "inputs": {"kind": "500", "note": "hello"}}],
        "pasted": [{**pasted, "inputs": {"method": "POST", "url": upstream.url + "/500", "headers": {"X-Note": secret},
                                         "body": {"note": f"my key is {secret}", "q": "{{ trigger.q }}"}}}],
        "timeout": [{**pasted, "inputs": {"method": "POST", "url": upstream.url + "/slow", "timeout": 0.3,
                                          "body": {"note": secret}}}],
        "mapping": [{**leaky, "inputs": {"kind": "ok", "note": "{{ trigger.q | no_such_filter('" + secret + "') }}"}}],
        "mapping2": [{**pasted, "inputs": {"method": "POST", "url": upstream.url + "/ok",
                                           "body": {"x": "{{ trigger.q | truncate('" + secret + "') }}"}}}],
    }


def _db_dump() -> str:
    parts = []
    with connection.cursor() as c:
        for table in connection.introspection.table_names(c):
            cols = [col.name for col in connection.introspection.get_table_description(c, table)]
            keep = [col for col in cols if col != "secret_blob" and (table, col) not in AUTHORED]
            if not keep:
                continue
            qn = connection.ops.quote_name
            c.execute(f"SELECT {', '.join(qn(k) for k in keep)} FROM {qn(table)}")
            for row in c.fetchall():
                parts.append(" ".join(bytes(v).decode("utf-8", "replace") if isinstance(v, (bytes, memoryview)) else str(v)
                                      for v in row))
    return "\n".join(parts)


@pytest.mark.django_db(transaction=True)
def test_no_secret_anywhere(ws, alice, catalogue, client, caplog, capsys, settings):
    settings.FLOWLINE_AUTO_RETRY_SCHEDULE = []
    caplog.set_level(logging.DEBUG)
    upstream = EchoUpstream()
    values = [f"sk_live_{pysecrets.token_hex(10)}_{i:02d}" for i in range(N)]
    try:
        runs = []
        for i, secret in enumerate(values):
            conn = Connection(workspace=ws, app="leaky", name=f"CRM {i}", auth_kind="api_key",
                              config={"base_url": upstream.url})
            conn.set_secrets({"api_key": secret})
            conn.save()
            for kind, steps in _scenarios(upstream, conn.pk, secret).items():
                if kind == "timeout" and i >= 5:
                    continue  # 5 timeouts are enough (each waits)
                flow = _flow(ws, f"Leak {i} {kind}", steps)
                run = start_run(flow, {"q": "hello", "email": "jane@example.com"})
                execute_run(run.pk)
                runs.append(run.pk)
        statuses = dict(Run.objects.values_list("status").order_by().annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("pk")))
        assert statuses.get("succeeded", 0) >= N and statuses.get("failed", 0) >= 4 * N, statuses
        categories = set(Run.objects.values_list("error_category", flat=True))
        assert {"auth", "upstream_error", "timeout", "mapping"} <= categories, categories

        # pages, exports and downloads a workspace owner can reach
        client.force_login(alice)
        pages = []
        for run_id in runs:
            for name in ("run", "run_payload"):
                r = client.get(reverse(name, args=[ws.slug, run_id]))
                assert r.status_code == 200, (name, r.status_code)
                pages.append(b"".join(r.streaming_content) if r.streaming else r.content)
        for name, args in (("runs", [ws.slug]), ("runs_export", [ws.slug, "csv"]), ("runs_export", [ws.slug, "json"]),
                           ("dashboard", [ws.slug]), ("workspace", [ws.slug])):
            r = client.get(reverse(name, args=args) + ("?steps=1" if name == "runs_export" else ""))
            assert r.status_code == 200, (name, r.status_code)
            pages.append(b"".join(r.streaming_content) if r.streaming else r.content)
        for flow in Flow.objects.filter(workspace=ws)[:10]:
            r = client.get(reverse("flow", args=[ws.slug, flow.pk]))
            pages.append(r.content)
        html = b"\n".join(pages).decode("utf-8", "replace")

        emails = "\n".join(f"{m.subject}\n{m.body}\n" + "".join(str(a[0]) for a in getattr(m, "alternatives", []))
                           for m in mail.outbox)
        assert mail.outbox, "failed runs should have alerted the owner"
        logs = caplog.text + "\n".join(str(r.exc_info) for r in caplog.records) + "\n".join(capsys.readouterr())
        dump = _db_dump()
        assert "sk_live_" not in dump.replace("[redacted]", "")  # sanity: the prefix alone never appears
        for where, text in (("database", dump), ("logs", logs), ("pages", html), ("emails", emails)):
            leaked = [v for v in values if v in text]
            assert not leaked, f"{len(leaked)} secrets found in {where}"
        # the redaction marker shows where secrets were
        assert "[redacted]" in dump
    finally:
        upstream.close()
