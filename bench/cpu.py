"""CPU per webhook and per run, in one process and one thread (no HTTP server, no contention): the
figures issue 11's notes compare between checkouts. Uses the peers' job (bench/peers.py).

    .venv/bin/python bench/cpu.py web 4000              # webhooks through automations.wsgi
    .venv/bin/python bench/cpu.py web 4000 --pages      # ... through the pages' full middleware chain
    .venv/bin/python bench/cpu.py pump 2000             # runs claimed and executed by a Pump (HTTP step to a local server)
    .venv/bin/python bench/cpu.py pump 2000 --profile   # cProfile, sorted by cumulative time
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<fresh db> .venv/bin/python bench/cpu.py pump 2000
                                                        # on PostgreSQL: + the server process's CPU per run
    .venv/bin/python bench/cpu.py web 300 --instructions   # instructions per webhook, counted by valgrind (callgrind)

Prints thread CPU ms per webhook / run. CPU time on a shared machine moves by tens of percent from one
minute to the next; `--instructions` counts the instructions the measured part executes (valgrind's
callgrind, instrumented only around it), which repeat to about half a percent: the figure to compare
two checkouts by (about 1 minute for 300 webhooks). A fresh SQLite data dir in /tmp each time. Used by the bench only.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(FLOWLINE_DATA_DIR=tempfile.mkdtemp(prefix="flowline-cpu-"), FLOWLINE_WEBHOOK_RATE="0",
                  FLOWLINE_DEBUG="0", FLOWLINE_LOG_LEVEL="WARNING", FLOWLINE_ALLOW_LOOPBACK="1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "automations.settings")
BODY = (b'{"event":"form.submitted","form_id":"contact-us","data":{"first_name":"Ada","last_name":"Lovelace",'
        b'"email_address":"ada+1@example.com","company":"Analytical Engines","message":"please call me back"}}')


class CRM(BaseHTTPRequestHandler):
    protocol_version, disable_nagle_algorithm = "HTTP/1.1", True

    def log_message(self, *a):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "11")
        self.end_headers()
        self.wfile.write(b'{"id":"c1"}')


def setup(crm_url: str):
    import django

    django.setup()
    from django.core.management import call_command

    from automations.flows import publish
    from automations.models import Flow, Workspace
    from bench.peers import flow_definition

    call_command("migrate", verbosity=0)
    ws = Workspace.objects.create(name="CPU", slug="cpu")
    flow = Flow.objects.create(workspace=ws, name="CPU", enabled=True, draft=flow_definition(crm_url))
    publish(flow)
    flow.refresh_from_db()
    return flow


def web(flow, pages: bool):
    import automations.wsgi as wsgi

    app = getattr(wsgi, "_pages", wsgi.application) if pages else wsgi.application

    def one():
        status = []
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": f"/hooks/{flow.webhook_token}", "QUERY_STRING": "",
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
                   "HTTP_HOST": "127.0.0.1:8000", "wsgi.url_scheme": "http", "CONTENT_TYPE": "application/json",
                   "CONTENT_LENGTH": str(len(BODY)), "wsgi.input": io.BytesIO(BODY)}
        answer = app(environ, lambda s, h: status.append(s))
        b"".join(answer)
        answer.close()
        assert status[0].startswith("200"), status
    return one


def pump(flow, n: int):
    from automations import intake
    from automations.pump import Pump

    p = Pump(batch=4)

    def fill(k):
        for _ in range(k):
            intake.accept(flow, BODY, {"content-type": "application/json"}, {}, payload=json.loads(BODY))
    fill(200)  # warm-up
    while p.pump_once():
        pass
    fill(n)
    return lambda: [None for _ in iter(p.pump_once, 0)]


def server_cpu():
    """On PostgreSQL, a function returning the CPU seconds so far of this connection's server process."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return lambda: 0.0
    with connection.cursor() as c:
        c.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{c.fetchone()[0]}/stat")

    def seconds():
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("web", "pump"))
    ap.add_argument("n", type=int)
    ap.add_argument("--pages", action="store_true", help="web: the pages' full middleware chain")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--instructions", action="store_true", help="count instructions with valgrind (callgrind)")
    args = ap.parse_args()
    if args.instructions and not os.environ.get("FLOWLINE_CPU_CALLGRIND"):
        return count_instructions(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), CRM)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    flow = setup(f"http://127.0.0.1:{server.server_address[1]}/contacts")
    if args.what == "web":
        one = web(flow, args.pages)
        for _ in range(200):  # warm-up
            one()
        work = lambda: [one() for _ in range(args.n)]  # noqa: E731
    else:
        work = pump(flow, args.n)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(work)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        return
    if os.environ.get("FLOWLINE_CPU_CALLGRIND"):  # under valgrind: instrument only the measured part
        toggle = lambda state: subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], capture_output=True)  # noqa: E731
        toggle("on")
        work()
        toggle("off")
        return
    server = server_cpu()
    cpu, wall, db = time.thread_time(), time.perf_counter(), server()
    work()
    cpu, wall, db = time.thread_time() - cpu, time.perf_counter() - wall, server() - db
    unit = "webhook" if args.what == "web" else "run"
    print(f"{args.what}: {1000 * cpu / args.n:.3f} ms CPU per {unit}, {1000 * wall / args.n:.3f} ms wall ({args.n} {unit}s)"
          + (f"; PostgreSQL backend {1000 * db / args.n:.3f} ms CPU per {unit}" if db else ""))
    if args.what == "pump":
        from automations.models import Run

        print(f"runs succeeded: {Run.objects.filter(status='succeeded').count()} of {Run.objects.count()}")


def count_instructions(args):
    if not shutil.which("valgrind"):
        sys.exit("--instructions needs valgrind (apt install valgrind)")
    with tempfile.TemporaryDirectory() as out:
        cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}/cg.%p",
               sys.executable, __file__, args.what, str(args.n)] + (["--pages"] if args.pages else [])
        r = subprocess.run(cmd, env={**os.environ, "FLOWLINE_CPU_CALLGRIND": "1"}, capture_output=True, text=True)
    collected = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode or not collected:
        sys.exit(f"valgrind failed ({r.returncode}): {r.stderr[-2000:]}")
    unit = "webhook" if args.what == "web" else "run"
    print(f"{args.what}: {int(collected.group(1)) / args.n / 1e6:.3f} M instructions per {unit} ({args.n} {unit}s, callgrind)")


if __name__ == "__main__":
    main()
