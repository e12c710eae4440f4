"""Infrastructure faults (reliability.md A8, B3, B4): the database unavailable while webhooks arrive (503 +
Retry-After, nothing answered 2xx is lost), and Redis losing its queued tasks (the ticker re-sends them)."""
import sqlite3
import threading
import time

import httpx
import pytest

from .conftest import SCALED, active, flow_def, http_steps, post_many, statuses

pytestmark = pytest.mark.e2e


def _hold_sqlite_write_lock(stack, seconds, ready: threading.Event):
    """Take the database's write lock (as a stuck writer or a backup would) and keep it."""
    con = sqlite3.connect(stack.data_dir / "flowline.sqlite3", timeout=30, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    ready.set()
    time.sleep(seconds)
    con.execute("ROLLBACK")
    con.close()


def _block_postgres(stack, seconds, ready: threading.Event):
    """Refuse new connections and cut the open ones, for `seconds`."""
    import psycopg
    from urllib.parse import urlparse

    name = urlparse(stack.pg_url).path.lstrip("/")
    with psycopg.connect(stack.pg_admin_url, autocommit=True) as con:
        con.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        deadline = time.time() + seconds
        ready.set()
        while time.time() < deadline:
            con.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                        (name,))
            time.sleep(0.2)
        con.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def test_database_unavailable_answers_503_and_loses_nothing(stack, upstream):
    flow = stack.create_flow(flow_def(http_steps(upstream.url + "/crm", 1)))
    stack.start_web()
    stack.start_worker("w1")
    # SQLite waits up to its 20 s busy timeout before giving up, so its outage must be longer than that.
    outage = 8 if stack.scaled else 23
    ready = threading.Event()
    blocker = threading.Thread(target=_block_postgres if stack.scaled else _hold_sqlite_write_lock,
                               args=(stack, outage, ready))
    blocker.start()
    ready.wait(10)
    answers, started = [], time.time()
    while time.time() - started < outage - 1:  # ~5 deliveries/s during the outage
        answers += post_many(stack, flow["token"], 5, prefix=f"o{len(answers)}", workers=5)
        time.sleep(0.5)
    blocker.join()
    answers += post_many(stack, flow["token"], 5, prefix="after")
    codes = [a[0] for a in answers]
    assert set(codes) <= {200, 503}, codes
    assert codes.count(503) >= 1, "the outage was never noticed"
    assert all(a[2] for a in answers if a[0] == 503), "503 without Retry-After"
    accepted = {a[1] for a in answers if a[0] == 200}
    stack.wait_for(lambda: active(stack) == 0 and stack.sql("select count(*) from automations_run")[0][0] >= len(accepted),
                   timeout=90, what="the accepted runs to finish")
    runs = {r for (r,) in stack.sql("select id from automations_run where status='succeeded'")}
    assert accepted <= runs  # every 2xx'd delivery ran
    assert stack.sql("select count(*) from automations_run")[0][0] == len(accepted)  # and nothing else
    assert len(upstream.effects) == len(accepted)


@pytest.mark.skipif(not SCALED, reason="Redis broker only (make test-scaled)")
def test_redis_losing_its_data_loses_no_run(stack, upstream):
    """B3: work is queued, Redis restarts without persistence (everything of this cluster is gone), then
    workers start. Runs are queued in the runs table, never in Redis, so every one of them runs once."""
    import redis

    runs = 30
    flow = stack.create_flow(flow_def(http_steps(upstream.url + "/crm", 1)))
    stack.start_web()
    assert [a[0] for a in post_many(stack, flow["token"], runs)] == [200] * runs
    r = redis.Redis.from_url(stack.redis_url)
    keys = list(r.scan_iter(f"*{stack.cluster}*"))
    assert f"django_q:{stack.cluster}:q".encode() not in keys  # nothing was queued there for the runs
    if keys:
        r.delete(*keys)  # what a restart without persistence does
    stack.start_worker("w1")
    stack.wait_for(lambda: active(stack) == 0, timeout=60, what="every queued run to finish")
    assert statuses(stack) == {"succeeded": runs}
    assert len(upstream.effects) == runs


def test_health_reports_database_down(stack):
    """/health/ready answers 503 while the database cannot be reached (load balancers take the process out)."""
    stack.start_web()
    stack.start_worker("w1")
    stack.wait_for(lambda: httpx.get(stack.url + "/health/ready", timeout=5).json()["workers"]["alive"] >= 1,
                   timeout=30, what="the worker heartbeat")
    if not stack.scaled:
        return  # SQLite is a file: reads keep working while a writer holds the lock
    ready = threading.Event()
    blocker = threading.Thread(target=_block_postgres, args=(stack, 4, ready))
    blocker.start()
    ready.wait(10)
    time.sleep(0.5)
    r = httpx.get(stack.url + "/health/ready", timeout=10)
    blocker.join()
    assert r.status_code == 503 and r.json()["database"]["ok"] is False
    stack.wait_for(lambda: httpx.get(stack.url + "/health/ready", timeout=5).status_code == 200, timeout=30,
                   what="health to recover")
