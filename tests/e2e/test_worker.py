"""End to end over real HTTP with a real qcluster: webhook in -> mapped -> HTTP request out.
Then the same under SIGKILL of the worker mid-run: every run ends once, nothing lost or doubled."""
import json
import os
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from .harness import Stack

pytestmark = pytest.mark.e2e


class FakeCRM:
    """Records every request; treats the Idempotency-Key as the unit of effect, like a real API."""

    def __init__(self, delay=0.0):
        self.requests, self.lock, self.delay = [], threading.Lock(), delay
        crm = self

        class H(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stalls)
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(crm.delay)
                with crm.lock:
                    crm.requests.append({"key": self.headers.get("Idempotency-Key"), "body": json.loads(body)})
                data = b'{"id": "crm_1"}'
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/contacts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def crm_flow(url):
    return {"trigger": {"operation": "webhook.catch_hook", "inputs": {}},
            "steps": [{"id": "s1", "key": "crm", "name": "Create CRM contact", "operation": "http.request",
                       "inputs": {"method": "POST", "url": url, "body": {
                           "firstName": "{{ trigger.name | first_name }}", "lastName": "{{ trigger.name | last_name }}",
                           "email": "{{ trigger.email | email }}"}}}]}


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path)
    yield s
    s.close()


def test_webhook_to_http_request_with_a_real_qcluster(stack):
    crm = FakeCRM()
    try:
        flow = stack.create_flow(crm_flow(crm.url))
        stack.start_web()
        stack.start_worker()
        r = httpx.post(f"{stack.url}/hooks/{flow['token']}", json={"name": "Jane van Dyke", "email": " JANE@Example.COM "})
        assert r.status_code == 200 and r.json()["status"] == "accepted"
        run_id = r.json()["run_id"]
        stack.wait_for(lambda: stack.sql("select status from automations_run where id=?", run_id)[0][0] == "succeeded",
                       what="the run to succeed")
        assert crm.requests[0]["body"] == {"firstName": "Jane", "lastName": "van Dyke", "email": "jane@example.com"}
        out = json.loads(stack.sql("select output from automations_stepresult where run_id=?", run_id)[0][0])
        assert out["status"] == 201 and out["body"] == {"id": "crm_1"}
    finally:
        crm.close()


def test_sigkill_mid_run_loses_nothing_and_doubles_nothing(stack):
    crm = FakeCRM(delay=0.15)
    try:
        flow = stack.create_flow(crm_flow(crm.url))
        stack.start_web()
        stack.start_worker("w1")
        n = 40
        for i in range(n):
            r = httpx.post(f"{stack.url}/hooks/{flow['token']}", json={"name": f"Lead {i}", "email": f"lead{i}@example.com"},
                           headers={"Webhook-Id": f"evt-{i}"})
            assert r.status_code == 200
        stack.wait_for(lambda: len(crm.requests) >= 3, what="some work to start")
        stack.kill("w1")  # SIGKILL the whole cluster mid-run
        stack.start_worker("w2")
        time.sleep(1.0)
        stack.kill("w2")  # and once more
        stack.start_worker("w3")
        stack.wait_for(lambda: stack.sql("select count(*) from automations_run where status in ('queued','running','waiting')")[0][0] == 0
                       and stack.sql("select count(*) from automations_run")[0][0] == n,
                       timeout=120, what="every run to finish")
        statuses = stack.sql("select status, count(*) from automations_run group by status")
        assert statuses == [("succeeded", n)], statuses
        emails = {r["body"]["email"] for r in crm.requests}
        assert emails == {f"lead{i}@example.com" for i in range(n)}  # nothing lost
        effects = {r["key"] for r in crm.requests}
        assert len(effects) == n  # each step's idempotency key: one effect per run
        repeated = len(crm.requests) - n
        flagged = stack.sql("select count(*) from automations_stepresult where possible_duplicate=1")[0][0]
        assert repeated <= flagged  # a repeated call only where the step says it may have been
    finally:
        crm.close()


def _children(pid: int) -> set[int]:
    return {int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()}


def test_worker_processes_forked_again_beside_the_pusher_and_monitor_threads_work(stack):
    """The sentinel's pusher and monitor are threads (automations/forkgate.py makes forking beside them safe):
    SIGKILL its worker processes again and again while tasks flow through the pusher and the monitor; each is
    forked again, and the new ones run django-q2 tasks (successes acknowledged, failures saved by the monitor)
    and runs (their pumps)."""
    crm = FakeCRM()
    enqueue = ("from django_q.tasks import async_task; from automations.tasks import broker\n"
               "for i in range({n}): async_task('math.sqrt', {x}, broker=broker())")
    try:
        flow = stack.create_flow(crm_flow(crm.url))
        stack.start_web()
        proc = stack.start_worker()
        children = stack.wait_for(lambda: len(kids := _children(proc.pid)) == 2 and kids, what="2 worker processes")
        stop = threading.Event()
        feeder = threading.Thread(target=lambda: [stack.python(enqueue.format(n=20, x=4)) for _ in iter(stop.is_set, True)])
        feeder.start()
        try:
            for _ in range(5):
                victim = sorted(children)[0]
                os.kill(victim, signal.SIGKILL)
                children = stack.wait_for(lambda: len(kids := _children(proc.pid)) == 2 and victim not in kids and kids,
                                          timeout=30, what="the killed worker process forked again")
        finally:
            stop.set()
            feeder.join()
        stack.python(enqueue.format(n=5, x=-1))  # ValueError: math domain error, saved as failures
        check = ("from django_q.models import Failure; from automations.tasks import broker\n"
                 "print(Failure.objects.count(), broker().queue_size())")
        stack.wait_for(lambda: stack.python(check).split()[-2:] == ["5", "0"], what="failures saved, the queue drained")
        r = httpx.post(f"{stack.url}/hooks/{flow['token']}", json={"name": "Ada Lovelace", "email": "ada@example.com"})
        stack.wait_for(lambda: stack.sql("select status from automations_run where id=?", r.json()["run_id"])[0][0] == "succeeded",
                       what="the run to succeed in a forked-again worker")
        assert _children(proc.pid) == children and proc.poll() is None
    finally:
        crm.close()
