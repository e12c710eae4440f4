"""Fault-injection harness: a real stack (bench/stack.py: web + `manage.py worker` subprocesses, SQLite or, with
DATABASE_URL/REDIS_URL, PostgreSQL + Redis) and a scripted misbehaving upstream."""
import json
import os
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bench.stack import Stack

SCALED = bool(os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))
ACTIVE = "('queued','running','waiting')"


class Upstream:
    """A fake API. Effects are keyed by Idempotency-Key like a real API that supports it. Paths:
    /crm?delay=s            201 after `delay`
    /r429  /r503            429 (Retry-After: 1) / 503 on the first attempt of each key (twice for 503), then 201
    /hang                   the first attempt of each key hangs 3 s (the step's timeout is shorter), then 201
    /huge                   streams 3 MB (over the stack's 1 MB response cap)
    /lostack                the first attempt of each key applies the write, then drops the connection"""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, float]] = []  # (path, idempotency key, time)
        self.effects: dict[str, int] = {}  # key -> times the write was applied (deduped: stays 1)
        up = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                u = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("Idempotency-Key") or "-"
                with up.lock:
                    up.requests.append((u.path, key, time.time()))
                    seen = sum(1 for p, k, _ in up.requests if p == u.path and k == key)
                if u.path == "/crm":
                    time.sleep(float(q.get("delay", 0)))
                elif u.path == "/r429" and seen == 1:
                    return self.answer(429, {"error": "slow down"}, {"Retry-After": "1"})
                elif u.path == "/r503" and seen <= 2:
                    return self.answer(503, {"error": "busy"})
                elif u.path == "/hang" and seen == 1:
                    time.sleep(3)
                elif u.path == "/huge":
                    return self.huge()
                elif u.path == "/lostack" and seen == 1:
                    up.apply(key)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)  # the write happened; the answer never arrives
                    return
                up.apply(key)
                self.answer(201, {"id": f"rec_{key[:8]}"})

            def answer(self, status, body, headers=None):
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for k, v in {"Content-Type": "application/json", "Content-Length": str(len(data)), **(headers or {})}.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def huge(self):
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(3 * 1024 * 1024))
                    self.end_headers()
                    for _ in range(3 * 64):
                        self.wfile.write(b"x" * 16384)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def apply(self, key):
        with self.lock:
            self.effects[key] = 1  # an API honouring Idempotency-Key applies a key once

    def attempts_by_key(self, path=None) -> Counter:
        with self.lock:
            return Counter(k for p, k, _ in self.requests if path is None or p == path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def http_steps(url, n=1, **inputs):
    return [{"id": f"s{i}", "name": f"Call {i}", "operation": "http.request", "retry": {"max_attempts": 6},
             "inputs": {"method": "POST", "url": url, "body": {"n": "{{ trigger.n }}", "step": i}, **inputs}}
            for i in range(1, n + 1)]


def flow_def(steps):
    return {"trigger": {"operation": "webhook.catch_hook", "inputs": {}}, "steps": steps}


@pytest.fixture
def upstream():
    u = Upstream()
    yield u
    u.close()


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path, FLOWLINE_HTTP_MAX_RESPONSE=str(1024 * 1024), FLOWLINE_WEBHOOK_RATE="0")
    yield s
    s.close()


def post_many(stack, token, n, prefix="evt", workers=8):
    """Deliver n webhooks; return the answers (status, run_id or None)."""
    def one(i):
        # Like a real sender: a transport error (no answer) is retried with the same delivery id, which the
        # intake dedupes, so a delivery stored just before the connection broke is not doubled.
        for _ in range(3):
            try:
                r = httpx.post(f"{stack.url}/hooks/{token}", json={"n": i}, headers={"Webhook-Id": f"{prefix}-{i}"},
                               timeout=60)
            except httpx.HTTPError:
                time.sleep(0.5)
                continue
            body = r.json() if r.status_code == 200 else {}
            return r.status_code, body.get("run_id"), r.headers.get("Retry-After")
        return 0, None, None

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(n)))


def active(stack) -> int:
    return stack.sql(f"select count(*) from automations_run where status in {ACTIVE}")[0][0]


def statuses(stack) -> dict:
    return dict(stack.sql("select status, count(*) from automations_run group by status"))
