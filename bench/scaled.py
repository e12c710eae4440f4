"""Webhook-to-finished-run throughput on PostgreSQL + Redis with 1, 2 and 4 worker clusters (`manage.py worker`
processes, each a django-q2 qcluster of FLOWLINE_WORKERS processes plus the ticker), 2 web processes (`manage.py serve`).

The job is bench/throughput.py's: webhook -> map 3 fields -> POST to a fake CRM on loopback -> run recorded.
Per cluster count: a fresh stack (fresh database), N deliveries at a fixed concurrency; reports intake rate,
completed runs/s (including the drain), p50/p99 webhook-to-finished-run latency, and peak RSS.

    make bench-scaled
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/scaled.py [--clusters 1 2 4] [--requests 1500] [--concurrency 16] [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.stack import Stack  # noqa: E402
from bench.throughput import FakeCRM, flow_definition, tree_rss_mb  # noqa: E402


def measure(stack: Stack, token: str, n: int, concurrency: int) -> dict:
    url = f"{stack.url}/hooks/{token}"
    peak, stop = [0.0], threading.Event()

    def sample_rss():
        while not stop.wait(0.5):
            peak[0] = max(peak[0], tree_rss_mb([p.pid for p in stack.procs.values()]))

    threading.Thread(target=sample_rss, daemon=True).start()
    client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=concurrency))
    codes = []

    def send(i):
        codes.append(client.post(url, json={"firstName": f"Lead{i}", "lastName": "Bench", "email": f"l{i}@example.com"},
                                 headers={"Webhook-Id": f"bench-{i}"}).status_code)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, range(n)))
    intake_s = time.perf_counter() - t0
    deadline = time.time() + 900
    while time.time() < deadline and stack.sql(
            "select count(*) from automations_run where status in ('queued','running','waiting')")[0][0]:
        time.sleep(0.2)
    total_s = time.perf_counter() - t0
    stop.set()
    rows = stack.sql("select status, extract(epoch from finished_at - created) * 1000 from automations_run")
    lat = sorted(float(r[1]) for r in rows if r[1] is not None)
    ok = sum(1 for r in rows if r[0] == "succeeded")
    return {"requests": n, "accepted": codes.count(200), "succeeded": ok,
            "intake_rps": round(n / intake_s, 1), "completed_runs_per_s": round(ok / total_s, 1),
            "latency_p50_ms": round(statistics.median(lat), 1) if lat else None,
            "latency_p99_ms": round(lat[int(len(lat) * 0.99) - 1], 1) if lat else None,
            "peak_rss_mb": round(peak[0], 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clusters", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--requests", type=int, default=1500)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2, help="processes per cluster (FLOWLINE_WORKERS)")
    ap.add_argument("--web-workers", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "scaled.json"))
    args = ap.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        sys.exit("set DATABASE_URL (postgresql://...) and REDIS_URL (redis://...); see `make bench-scaled`")
    crm = FakeCRM()
    results = []
    for clusters in args.clusters:
        with tempfile.TemporaryDirectory(prefix="flowline-bench-") as tmp:
            stack = Stack(Path(tmp), FLOWLINE_WORKERS=str(args.workers), FLOWLINE_LOG_LEVEL="ERROR", FLOWLINE_DEBUG="0",
                          FLOWLINE_WEBHOOK_RATE="0", FLOWLINE_QUEUE_LIMIT=str(max(4, args.workers * 2)))
            try:
                flow = stack.create_flow(flow_definition(crm.url), name="Bench")
                stack.start_web(workers=args.web_workers)
                for i in range(clusters):
                    stack.start_worker(f"w{i}")
                time.sleep(3)
                res = {"clusters": clusters, "workers_per_cluster": args.workers, "concurrency": args.concurrency,
                       **measure(stack, flow["token"], args.requests, args.concurrency)}
            finally:
                stack.close()
        print(json.dumps(res), flush=True)
        results.append(res)
    report = {"date": datetime.now().isoformat(timespec="seconds"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "python": platform.python_version(), "mode": "postgresql+redis", "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
