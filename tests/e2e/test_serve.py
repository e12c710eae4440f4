"""`manage.py serve`, the production web server (Granian), as a real process tree: concurrent webhooks all
stored, a crashed web process respawned, collected static files served, SIGTERM ends every process."""
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from .harness import Stack

pytestmark = pytest.mark.e2e

FLOW = {"trigger": {"operation": "webhook.catch_hook", "inputs": {}},
        "steps": [{"id": "f", "operation": "flow.formatter", "inputs": {"value": "{{ trigger.email }}", "transform": "lower"}}]}


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path, FLOWLINE_WEBHOOK_RATE="0")
    yield s
    s.close()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _group_alive(pgid: int) -> bool:
    out = subprocess.run(["ps", "-o", "pid=", "-g", str(pgid)], capture_output=True, text=True).stdout
    return bool(out.split())


def test_concurrent_webhooks_are_each_stored_once(stack):
    flow = stack.create_flow(FLOW)
    stack.start_web(workers=2, threads=4)
    stack.start_worker()
    url = f"{stack.url}/hooks/{flow['token']}"

    def post(i):
        return httpx.post(url, json={"email": f"LEAD{i}@Example.com"}, headers={"Webhook-Id": f"evt-{i % 150}"}, timeout=30)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(post, range(200)))
    assert all(a.status_code == 200 for a in answers)
    statuses = [a.json()["status"] for a in answers]
    assert statuses.count("accepted") == 150 and statuses.count("duplicate") == 50
    stack.wait_for(lambda: stack.sql("select count(*) from automations_run where status = 'succeeded'")[0][0] == 150,
                   what="every run to succeed")
    assert stack.sql("select count(*) from automations_run")[0][0] == 150
    assert stack.sql("select count(*) from automations_webhookdelivery")[0][0] == 150


def test_a_crashed_web_process_is_respawned(stack):
    flow = stack.create_flow(FLOW)
    stack.start_web(workers=1)
    main = stack.procs["web"].pid
    stack.wait_for(lambda: len(_children(main)) == 1, what="the web worker process")
    (worker,) = _children(main)
    os.kill(worker, signal.SIGKILL)
    stack.wait_for(lambda: _children(main) and _children(main) != [worker], what="a new web worker process")

    def answers():
        try:
            return httpx.post(f"{stack.url}/hooks/{flow['token']}", json={"email": "a@b.co"}, timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    stack.wait_for(answers, what="the respawned process to answer")


def test_collected_static_files_are_served(stack):
    stack.manage("collectstatic", "--noinput", "-v", "0")
    stack.start_web()
    css = next(p for p in (stack.data_dir / "staticfiles").rglob("*.css"))
    rel = css.relative_to(stack.data_dir / "staticfiles").as_posix()
    r = httpx.get(f"{stack.url}/static/{rel}", timeout=10)
    assert r.status_code == 200 and r.content == css.read_bytes()


def test_sigterm_stops_every_web_process(stack):
    stack.start_web(workers=2)
    p = stack.procs["web"]
    stack.wait_for(lambda: len(_children(p.pid)) == 2, what="two web worker processes")
    os.kill(p.pid, signal.SIGTERM)
    assert p.wait(timeout=30) is not None
    deadline = time.monotonic() + 10
    while _group_alive(p.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _group_alive(p.pid)
    stack.procs.pop("web")
