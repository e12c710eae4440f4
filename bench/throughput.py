"""Webhook-to-finished-run throughput and latency on a real Flowline (web + worker subprocesses).

The job (same as ../shared/bench/peers): webhook -> map {firstName, lastName, email} -> POST to a
fake CRM on loopback -> run recorded with its step. Reports intake rate (answered, stored
deliveries per second), end-to-end completed runs per second including the drain after the load,
p50/p99 request-to-finished-run latency (from the database's timestamps), and peak RSS.

    .venv/bin/python bench/throughput.py [--requests 2000] [--concurrency 1 8 32] [--workers 2]
    DATABASE_URL=postgresql://... REDIS_URL=redis://... .venv/bin/python bench/throughput.py --workers 4
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.stack import Stack  # noqa: E402


class FakeCRM:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()
        crm = self

        class H(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stalls)
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with crm.lock:
                    crm.count += 1
                data = b'{"id":"crm"}'
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/contacts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def process_tree(pid) -> list[int]:
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        try:
            stack.extend(int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split())
        except OSError:
            pass
    return out


def tree_rss_mb(roots) -> float:
    kb = 0
    for root in roots:
        for p in process_tree(root):
            try:
                for line in Path(f"/proc/{p}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        kb += int(line.split()[1])
            except OSError:
                pass
    return kb / 1024


def flow_definition(crm_url: str) -> dict:
    return {"trigger": {"operation": "webhook.catch_hook", "inputs": {}},
            "steps": [{"id": "s1", "key": "crm", "name": "Create CRM contact", "operation": "http.request",
                       "inputs": {"method": "POST", "url": crm_url, "body": {
                           "firstName": "{{ trigger.firstName }}", "lastName": "{{ trigger.lastName }}",
                           "email": "{{ trigger.email }}"}}}]}


def one_round(stack: Stack, token: str, n: int, concurrency: int, first_id: int) -> dict:
    url = f"{stack.url}/hooks/{token}"
    peak = [0.0]
    stop = threading.Event()

    def sample_rss():
        while not stop.wait(0.5):
            peak[0] = max(peak[0], tree_rss_mb([p.pid for p in stack.procs.values()]))

    threading.Thread(target=sample_rss, daemon=True).start()
    client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=concurrency))
    answers = []

    def send(i):
        t = time.perf_counter()
        r = client.post(url, json={"firstName": f"Lead{i}", "lastName": "Bench", "email": f"lead{i}@example.com"})
        answers.append((r.status_code, time.perf_counter() - t))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, range(n)))
    intake_s = time.perf_counter() - t0
    deadline = time.time() + 600
    while time.time() < deadline:
        left = stack.sql("select count(*) from automations_run where id > ? and status in ('queued','running','waiting')", first_id)[0][0]
        if left == 0:
            break
        time.sleep(0.2)
    total_s = time.perf_counter() - t0
    stop.set()
    rows = stack.sql("select status, (julianday(finished_at) - julianday(created)) * 86400000.0 from automations_run where id > ?", first_id)
    lat = sorted(r[1] for r in rows if r[1] is not None)
    ok = sum(1 for r in rows if r[0] == "succeeded")
    answer_ms = sorted(a[1] * 1000 for a in answers)
    return {
        "concurrency": concurrency, "requests": n, "accepted": sum(1 for a in answers if a[0] == 200),
        "intake_rps": round(n / intake_s, 1), "answer_p99_ms": round(answer_ms[int(len(answer_ms) * 0.99) - 1], 1),
        "completed_runs_per_s": round(ok / total_s, 1), "succeeded": ok,
        "latency_p50_ms": round(statistics.median(lat), 1) if lat else None,
        "latency_p99_ms": round(lat[int(len(lat) * 0.99) - 1], 1) if lat else None,
        "peak_rss_mb": round(peak[0], 1),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1500)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--web-workers", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "flowline.json"))
    args = ap.parse_args()
    crm = FakeCRM()
    with tempfile.TemporaryDirectory(prefix="flowline-bench-") as tmp:
        env = {"FLOWLINE_WORKERS": str(args.workers), "FLOWLINE_LOG_LEVEL": "ERROR", "FLOWLINE_DEBUG": "0"}
        for k in ("DATABASE_URL", "REDIS_URL"):
            if os.environ.get(k):
                env[k] = os.environ[k]
        stack = Stack(Path(tmp), **env)
        try:
            flow = stack.create_flow(flow_definition(crm.url), name="Bench")
            stack.start_web(workers=args.web_workers)
            stack.start_worker()
            time.sleep(2)
            results = []
            for c in args.concurrency:
                last = stack.sql("select coalesce(max(id), 0) from automations_run")[0][0]
                n = args.requests if c > 1 else max(100, args.requests // 10)
                res = one_round(stack, flow["token"], n, c, last)
                print(json.dumps(res))
                results.append(res)
        finally:
            stack.close()
    report = {"date": datetime.now().isoformat(timespec="seconds"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "python": platform.python_version(), "mode": "postgresql+redis" if os.environ.get("REDIS_URL") else "sqlite+orm",
              "workers": args.workers, "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
