"""Rate-limit throughput against the GoHighLevel sandbox (issue 11 item 3).

A real stack (bench/stack.py: SQLite + ORM broker, `manage.py worker` with FLOWLINE_WORKERS processes)
and the sandbox on its own port, one process per location (`manage.py sandbox --port N`, which enforces GoHighLevel's 100
requests / 10 s per location and sends X-RateLimit-* headers). --flows flows per location each create
contacts (`gohighlevel.create_contact`); every flow gets --per-flow runs queued up front, then a feeder
process starts --rate new runs per second per location (default 12: 120% of the limit, every flow in
turn), so demand exceeds the limit for the whole measurement. Measured from the sandbox's own request log and the runs:
requests per location in the --seconds after the first request, utilisation of the limit, 429s, and
per-flow finished runs (min / max / Jain's fairness index).

    .venv/bin/python bench/ratelimit.py                    # one location, 200 flows, 60 s
    .venv/bin/python bench/ratelimit.py --locations 2      # two locations in parallel
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stack import Stack, free_port  # noqa: E402

SETUP = """
import json
from automations.engine import start_run
from automations.flows import publish
from automations.models import Connection, Flow, Workspace
from connectors.sandbox.models import SandboxLocation
from connectors.sandbox.store import create_location, token_for
ws = Workspace.objects.create(name="Rate bench", slug="rate")
flows = []
for n in range({locations}):
    location, token = create_location(f"Location {{n + 1}}", seed=False)
    conn = Connection(workspace=ws, app="gohighlevel", name=f"Sandbox {{n + 1}}", auth_kind="api_key",
                      config={{"sandbox": True, "base_url": {bases}[n], "location_id": location.pk}})
    conn.set_secrets({{"api_key": token.token}})
    conn.status = Connection.OK
    conn.save()
    for i in range({flows}):
        f = Flow.objects.create(workspace=ws, name=f"L{{n + 1}} flow {{i + 1}}", enabled=True, draft={{
            "trigger": {{"operation": "webhook.catch_hook", "inputs": {{}}}},
            "steps": [{{"id": "s1", "operation": "gohighlevel.create_contact", "connection": conn.pk,
                        "inputs": {{"locationId": location.pk, "firstName": "{{{{ trigger.first }}}}",
                                   "email": "{{{{ trigger.email }}}}"}}}}]}})
        publish(f)
        flows.append(f)
for k in range({per_flow}):  # a backlog to start with, round-robin over the flows
    for f in flows:
        start_run(f, {{"first": f"Lead{{k}}", "email": f"lead{{k}}.f{{f.pk}}@example.com"}}, source="webhook")
print(json.dumps([f.pk for f in flows]))
"""

FEED = """
import time
from automations.engine import start_run
from automations.models import Flow
flows = list(Flow.objects.filter(workspace__slug="rate").order_by("pk"))
t0, k = time.time(), 0
while time.time() - t0 < {seconds}:  # {rate} runs/s per location, every flow in turn
    while k < (time.time() - t0) * {rate} * {locations}:
        f = flows[k % len(flows)]
        start_run(f, {{"first": f"Feed{{k}}", "email": f"feed{{k}}@example.com"}}, source="webhook")
        k += 1
    time.sleep(0.02)
"""


def tree_cpu_seconds(pid) -> float:
    """User + system CPU seconds of a process and its children so far (Linux /proc)."""
    from bench.throughput import process_tree

    ticks = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def jain(values) -> float:
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values)) if values and any(values) else 0.0


def measure(stack: Stack, seconds: int, locations: int) -> dict:
    """From the sandbox's request log: per location, requests in the window [first request, +seconds)."""
    rows = stack.sql("select location_id, status, created from sandbox_sandboxrequest where path like '%contacts%' order by id")
    parse = lambda s: datetime.fromisoformat(s.replace(" ", "T")).timestamp()  # noqa: E731
    start = min(parse(c) for _, _, c in rows)
    end = start + seconds
    inside = [(loc, st, parse(c)) for loc, st, c in rows if start <= parse(c) < end]
    per_loc = {}
    for loc in sorted({r[0] for r in inside}):
        mine = [t for lo, st, t in inside if lo == loc and st != 429]
        windows = [sum(1 for t in mine if w <= t < w + 10) for w in [start + 10 * i for i in range(seconds // 10)]]
        per_loc[loc] = {"ok": len(mine), "429": sum(1 for lo, st, _ in inside if lo == loc and st == 429),
                        "utilisation": len(mine) / (seconds / 10 * 100), "per_10s": windows,
                        "max_any_10s": max(sum(1 for u in mine if t <= u < t + 10) for t in mine)}
    finished = stack.sql("select flow_id, finished_at from automations_run where status='succeeded'")
    per_flow = {}
    for flow_id, fin in finished:
        if start <= parse(fin) < end:
            per_flow[flow_id] = per_flow.get(flow_id, 0) + 1
    failed = stack.sql("select count(*) from automations_run where status='failed'")[0][0]
    return {"start": start, "per_location": per_loc, "per_flow": per_flow, "failed_runs": failed,
            "total_429": sum(1 for _, st, _ in rows if st == 429)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=200, help="flows per location")
    ap.add_argument("--locations", type=int, default=1)
    ap.add_argument("--per-flow", type=int, default=1, help="runs queued per flow before the start (a backlog)")
    ap.add_argument("--rate", type=float, default=12, help="then new runs per second per location (the limit is 10/s)")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--workers", type=int, default=2, help="FLOWLINE_WORKERS of the one `manage.py worker`")
    ap.add_argument("--out", default="", help="write the figures as JSON here")
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="flowline-ratelimit-"))
    ports = [free_port() for _ in range(args.locations)]  # one sandbox process per location (its own counters)
    stack = Stack(data, FLOWLINE_WORKERS=str(args.workers), FLOWLINE_TICK="1", FLOWLINE_RUN_LEASE="90",
                  FLOWLINE_RETRY_BASE="5")  # production defaults, not the test stack's
    try:
        for n, port in enumerate(ports):
            stack.start(f"sandbox{n + 1}", "sandbox", "--port", str(port))
        t = time.perf_counter()
        flows = json.loads(stack.python(SETUP.format(locations=args.locations, flows=args.flows, per_flow=args.per_flow,
                                                     bases=[f"http://127.0.0.1:{p}" for p in ports])).strip().splitlines()[-1])
        print(f"{len(flows)} flows, {len(flows) * args.per_flow} runs queued in {time.perf_counter() - t:.0f} s; "
              f"worker with {args.workers} processes; measuring {args.seconds} s ...", flush=True)
        if args.rate:
            stack.start("feeder", "shell", "-c", FEED.format(seconds=args.seconds + 15, rate=args.rate,
                                                          locations=args.locations))
        stack.start_worker()
        stack.wait_for(lambda: stack.sql("select count(*) from sandbox_sandboxrequest")[0][0], timeout=60, what="a request")
        time.sleep(args.seconds + 3)
        cpu = {name: tree_cpu_seconds(p.pid) for name, p in stack.procs.items()}
        res = measure(stack, args.seconds, args.locations)
        res["cpu_seconds"] = cpu
    finally:
        stack.close()
    counts = [res["per_flow"].get(f, 0) for f in flows]
    res.update(flows=len(flows), min_per_flow=min(counts), max_per_flow=max(counts), jain=round(jain(counts), 4),
               args=vars(args), machine=f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
               date=f"{datetime.now():%Y-%m-%d %H:%M}")
    for loc, r in res["per_location"].items():
        print(f"  location {loc}: {r['ok']} requests in {args.seconds} s = {100 * r['utilisation']:.1f}% of 100/10 s; "
              f"per 10 s {r['per_10s']}; max in any 10 s {r['max_any_10s']}; 429s {r['429']}")
    print(f"  runs finished per flow in the window: min {res['min_per_flow']}, max {res['max_per_flow']}, "
          f"Jain {res['jain']:.3f}; failed runs {res['failed_runs']}; 429s in total {res['total_429']}")
    print("  CPU seconds used: " + ", ".join(f"{k} {v:.1f}" for k, v in res["cpu_seconds"].items()))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1, default=str))
    return res


if __name__ == "__main__":
    main()
