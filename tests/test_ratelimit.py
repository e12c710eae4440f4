"""The limiter: 150 calls in 10 s against one location never exceed 100 per 10 s and no 429 reaches
the user (fake clock, no waiting); a short real-time run; the database store; API headers."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors import errors, ratelimit, registry
from connectors.context import StepContext
from connectors.executor import execute, send
from connectors.safehttp import SafeClient
from connectors.spec import App, Operation

from .gohighlevel.conftest import FakeCredentials


class Clock:
    def __init__(self):
        self.now, self.lock = 1_000_000.0, threading.Lock()

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        with self.lock:
            self.now += seconds


class StrictApi:
    """Answers 429 when more than `limit` requests arrive within `window` seconds (by `clock`)."""

    def __init__(self, clock, limit=100, window=10.0):
        self.times, self.rejected = [], 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                now = clock()
                recent = [t for t in api.times if t > now - window]
                ok = len(recent) < limit
                if ok:
                    api.times.append(now)
                else:
                    api.rejected += 1
                data = json.dumps({"contact": {"id": "c1"}} if ok else {"message": "Too many requests"}).encode()
                self.send_response(200 if ok else 429)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def max_in_window(self, window):
        ts = sorted(self.times)
        return max((sum(1 for u in ts if t <= u < t + window) for t in ts), default=0)

    def close(self):
        self.http.shutdown()
        self.http.server_close()


def engine_run(op, ctx, clock, attempts=50):
    """What the engine does with RATE_LIMITED: re-queue after retry_after (here: move the clock)."""
    for _ in range(attempts):
        try:
            return execute(op, ctx)
        except errors.StepError as exc:
            assert exc.category == errors.RATE_LIMITED and exc.response is None  # never a 429 from the API
            clock.sleep(exc.retry_after)
    raise AssertionError("never ran")


@pytest.mark.parametrize("store", ["memory", "database"])
def test_150_calls_in_10_seconds_against_one_location(store, db):
    clock = Clock()
    ratelimit.set_limiter(ratelimit.Limiter(ratelimit.MemoryStore() if store == "memory" else ratelimit.DatabaseStore(),
                                            clock=clock, sleep=clock.sleep))
    api = StrictApi(clock)
    try:
        creds = FakeCredentials(config={"base_url": api.url, "location_id": "locA"})
        op, client = registry.get_operation("gohighlevel.get_contact"), SafeClient(allow_loopback=True)
        start = clock.now
        for i in range(150):
            clock.sleep(10.0 / 150)  # 150 calls spread over 10 s
            result = engine_run(op, StepContext(inputs={"contactId": f"c{i}"}, credentials=creds, client=client), clock)
            assert result.output == {"contact": {"id": "c1"}}
        assert api.rejected == 0 and len(api.times) == 150
        assert api.max_in_window(10.0) <= 100
        assert clock.now - start >= 10.0  # the last 50 waited for the window to slide
    finally:
        api.close()
        ratelimit.set_limiter(None)


def test_real_time_short_waits_are_slept_by_the_executor(recorder):
    lim = ratelimit.Limiter(ratelimit.MemoryStore())
    ratelimit.set_limiter(lim)
    app = App(key="tiny", label="Tiny", rate_limit=(5, 0.5))
    op = Operation(key="tiny.ping", app="tiny", kind="action", label="Ping", path="/ping")
    granted, acquire = [], lim.acquire

    def recording(*args):
        wait = acquire(*args)
        if wait == 0:
            granted.append(time.time())
        return wait

    lim.acquire = recording
    start = time.monotonic()
    for _ in range(12):
        send(app, op, StepContext(inputs={}, credentials=FakeCredentials(config={"base_url": recorder.url}),
                                  client=SafeClient(allow_loopback=True)))
    assert len(recorder.requests) == len(granted) == 12 and time.monotonic() - start >= 1.0
    assert all(sum(1 for u in granted if t <= u < t + 0.5) <= 5 for t in granted)
    ratelimit.set_limiter(None)


def test_long_waits_go_back_to_the_engine():
    clock = Clock()
    lim = ratelimit.Limiter(ratelimit.MemoryStore(), clock=clock)
    for _ in range(100):
        assert lim.acquire("k", 100, 10.0) == 0
    assert lim.acquire("k", 100, 10.0) == pytest.approx(10.0)
    clock.sleep(10.01)
    assert lim.acquire("k", 100, 10.0) == 0


def test_daily_limit_and_headers():
    clock = Clock()
    lim = ratelimit.Limiter(ratelimit.MemoryStore(), clock=clock)
    assert lim.acquire("d", 100, 10.0, daily=2) == 0 and lim.acquire("d", 100, 10.0, daily=2) == 0
    wait = lim.acquire("d", 100, 10.0, daily=2)
    assert 0 < wait <= 86400
    lim.observe("h", {"X-RateLimit-Remaining": "0", "X-RateLimit-Interval-Milliseconds": "10000", "X-RateLimit-Max": "50"}, 200, 10.0)
    assert lim.acquire("h", 100, 10.0) == pytest.approx(10.0)
    clock.sleep(10)
    for _ in range(50):
        assert lim.acquire("h", 100, 10.0) == 0
    assert lim.acquire("h", 100, 10.0) > 0  # the advertised max (50) wins over ours
    lim.observe("r", {}, 429, 10.0, retry_after=7)
    assert lim.acquire("r", 100, 10.0) == pytest.approx(7)


def test_waiters_get_one_turn_each_and_the_apis_own_count_is_kept():
    clock = Clock()
    lim = ratelimit.Limiter(ratelimit.MemoryStore(), clock=clock)
    for _ in range(100):
        assert lim.acquire("q", 100, 10.0) == 0
    gap = 0.1 / ratelimit.TURN_PACE
    assert [lim.acquire("q", 100, 10.0) for _ in range(3)] == pytest.approx([10.0, 10 + gap, 10 + 2 * gap])  # not all at 10 s
    # Our own 100 requests (spread over 5 s) used the server's window: no extra block, the log decides.
    for _ in range(100):
        clock.sleep(0.05)
        assert lim.acquire("own", 100, 10.0) == 0
    lim.observe("own", {"X-RateLimit-Remaining": "0", "X-RateLimit-Max": "100"}, 200, 10.0)
    clock.sleep(5.06)  # the first of them left the window
    assert lim.acquire("own", 100, 10.0) == 0
    # Someone else used 50 of the window: we get the other 40 of what the server says remains.
    for _ in range(10):
        assert lim.acquire("shared", 100, 10.0) == 0
    lim.observe("shared", {"X-RateLimit-Remaining": "40", "X-RateLimit-Max": "100"}, 200, 10.0)
    assert [lim.acquire("shared", 100, 10.0) for _ in range(41)].count(0) == 40


def test_many_waiting_runs_on_two_locations_use_both_limits_fully():
    """Simulated time: 700 runs per location ask at once; each one turned away comes back after the
    wait it was given plus the engine's 0-10% jitter (as a parked run does). Every location sends
    at its full rate (100 per 10 s, never more in any 10 s), both at once, in about the order asked."""
    import heapq
    import random

    rng, clock = random.Random(3), Clock()
    lim = ratelimit.Limiter(ratelimit.MemoryStore(), clock=clock)
    start = clock.now
    due = [(start, i, loc) for loc in ("A", "B") for i in range(700)]
    heapq.heapify(due)
    sent = {"A": [], "B": []}
    while due and due[0][0] < start + 60:
        clock.now, i, loc = heapq.heappop(due)
        wait = lim.acquire(loc, 100, 10.0)
        if wait == 0:
            sent[loc].append((clock.now, i))
        else:
            heapq.heappush(due, (clock.now + wait * rng.uniform(1.0, 1.1), i, loc))
    for loc, done in sent.items():
        times = [t for t, _ in done]
        assert len(times) >= 0.95 * 600, loc  # >= 95% of 100 per 10 s over 60 s
        assert max(sum(1 for u in times if t <= u < t + 10) for t in times) <= 100
        late = sorted(rank - i for rank, (_, i) in enumerate(done))  # places behind first come, first served
        assert late[len(late) // 2] <= 50 and late[-1] <= 200, late[-10:]
