"""Builder pages with every operation loaded (576 GoHighLevel + the other apps): p50/p95 server time,
and the memory of web + one `manage.py worker` (2 worker processes) at rest.

Server time is the Django test Client round trip in-process (as bench/runs_scale.py), on its own
SQLite data dir (var/bench-pages). Memory: a real stack (bench/stack.py: runserver + worker), RSS of
each process tree after the first requests and 10 s of rest.

    .venv/bin/python bench/pages.py [repeat]   # writes the "Builder pages" section of bench/RESULTS-runs.md
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FLOWLINE_DATA_DIR", str(ROOT / "var" / "bench-pages"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "automations.settings")
os.environ.setdefault("FLOWLINE_DEBUG", "0")


HTMX = {"HTTP_HX_REQUEST": "true"}  # what the builder sends for step fragments (cards, catalogue)


def server_times(repeat: int) -> list[tuple[str, float, float, int]]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from automations.flows import publish
    from automations.models import Connection, Flow, Membership, Workspace
    from connectors import registry

    call_command("migrate", verbosity=0)
    ws, _ = Workspace.objects.get_or_create(slug="pages", defaults={"name": "Pages"})
    user = get_user_model().objects.filter(username="pages").first() or get_user_model().objects.create_user("pages", "", "pw")
    Membership.objects.get_or_create(user=user, workspace=ws, defaults={"role": Membership.OWNER})
    conn = Connection.objects.filter(workspace=ws).first() or Connection.objects.create(
        workspace=ws, app="gohighlevel", name="GHL", auth_kind="api_key", config={"location_id": "loc1"})
    flow = Flow.objects.filter(workspace=ws).first()
    if flow is None:
        flow = Flow.objects.create(workspace=ws, name="Lead to GHL", enabled=True, draft={
            "trigger": {"operation": "webhook.catch_hook", "inputs": {}},
            "steps": [{"id": "s1", "operation": "gohighlevel.create_contact", "connection": conn.pk,
                       "inputs": {"email": "{{ trigger.email }}", "firstName": "{{ trigger.first_name }}"}},
                      {"id": "s2", "operation": "flow.formatter", "inputs": {"value": "{{ trigger.email }}", "transform": "lower"}}]})
        publish(flow)
    ops = len(registry.operations())
    client = Client()
    client.force_login(user)
    f, s = f"/w/pages/flows/{flow.pk}/", f"/w/pages/flows/{flow.pk}/steps/s1/"
    cases = [("Flows list", "/w/pages/flows/"), ("Editor (flow with a GoHighLevel step)", f + "edit/"),
             ("Step card, open (create contact: fields from its declaration)", s + "?open=1"),
             ("Editor with that card open", f + "edit/?open=s1"),
             ("Catalogue: apps", s + "catalogue"), ("Catalogue: GoHighLevel curated", s + "catalogue?app=gohighlevel"),
             ("Catalogue: GoHighLevel, all operations", s + "catalogue?app=gohighlevel&all=1"),
             ("Catalogue: search \"contact\"", s + "catalogue?q=contact"),
             ("Catalogue: triggers", f"{f}steps/trigger/catalogue"), ("Versions", f + "versions/")]
    out = []
    for label, url in cases:
        client.get(url, **(HTMX if "steps/" in url else {}))  # warm the code path
        samples, status = [], None
        for _ in range(repeat):
            t = time.perf_counter()
            status = client.get(url, **(HTMX if "steps/" in url else {})).status_code
            samples.append((time.perf_counter() - t) * 1000)
        samples.sort()
        p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
        out.append((label, statistics.median(samples), p95, status))
        print(f"  {label}: p50 {statistics.median(samples):.1f} ms, p95 {p95:.1f} ms ({status})", flush=True)
    return out, ops


def memory_at_rest() -> dict:
    from bench.stack import Stack
    from bench.throughput import tree_rss_mb

    import httpx

    stack = Stack(Path(tempfile.mkdtemp(prefix="flowline-pages-")), FLOWLINE_WORKERS="2")
    try:
        stack.start_web(dev=True)
        stack.start_worker()
        for path in ("/health", "/accounts/login/"):
            httpx.get(stack.url + path, timeout=10)
        time.sleep(10)
        return {name: tree_rss_mb([p.pid]) for name, p in stack.procs.items()}
    finally:
        stack.close()


def main():
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    rows, ops = server_times(repeat)
    mem = memory_at_rest()
    print(f"\n{ops} operations loaded. Memory at rest: " + ", ".join(f"{k} {v:.0f} MB" for k, v in mem.items())
          + f", total {sum(mem.values()):.0f} MB\n")
    import platform
    from datetime import datetime

    from bench.runs_scale import PAGES_SECTION

    lines = [PAGES_SECTION, "",
             f"Measured {datetime.now():%Y-%m-%d %H:%M} by `bench/pages.py {repeat}` on the same machine ({platform.machine()}, "
             f"{os.cpu_count()} CPUs, Python {platform.python_version()}), {ops} operations in the catalogue; server time "
             "as above (Django test Client, in-process, DEBUG off).", "",
             "| Builder page | p50 ms | p95 ms | requests |", "|---|---:|---:|---:|"]
    lines += [f"| {label} | {p50:.1f} | {p95:.1f} | {repeat} |" for label, p50, p95, _ in rows]
    lines += ["", "Memory at rest (RSS of each process tree after the first requests and 10 s idle; runserver + one "
              "`manage.py worker` with FLOWLINE_WORKERS=2 and all its qcluster processes): "
              + ", ".join(f"{k} {v:.0f} MB" for k, v in mem.items()) + f"; total {sum(mem.values()):.0f} MB.", ""]
    out = ROOT / "bench" / "RESULTS-runs.md"
    head = out.read_text().partition(PAGES_SECTION)[0].rstrip("\n") if out.exists() else ""
    out.write_text(head + "\n\n" + "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
