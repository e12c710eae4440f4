"""`manage.py serve`: the production web server (Granian, WSGI) with Flowline's defaults.

Granian does the HTTP work (parsing, keep-alive, slow clients) in Rust and hands each request to
Django on a pool of Python threads. Measured against gunicorn's threaded worker on the peers' job
(bench/peers.py, c=32, embedded): about 0.7 ms less CPU per webhook and 35-50% more answered
requests per second (issue 11's notes).

Defaults:
- Embedded (SQLite): one web process with 8 threads. SQLite has one writer at a time, and concurrent
  webhooks in one process share a transaction (automations/groupcommit.py), so a second process only
  adds a competitor for the write lock and about 45 MiB.
- PostgreSQL: one process per core (`--workers`), 8 threads each.
Failed processes are respawned. SIGTERM or SIGINT stops it gracefully.

The process replaces itself with Granian (exec), so a supervisor's signals reach Granian directly.
"""
from __future__ import annotations

import os
import shutil
import sys

from django.conf import settings
from django.core.management.base import BaseCommand


def granian_command(host: str, port: int, workers: int, threads: int) -> list[str]:
    exe = shutil.which("granian", path=os.path.dirname(sys.executable)) or shutil.which("granian")
    if exe is None:
        raise FileNotFoundError("granian is not installed (pip install -e .)")
    cmd = [exe, "--interface", "wsgi", "--host", host, "--port", str(port), "--workers", str(workers),
           "--blocking-threads", str(threads), "--respawn-failed-workers", "--log-level", "warning"]
    static_root = getattr(settings, "STATIC_ROOT", None)
    if static_root and os.path.isdir(static_root):  # after `manage.py collectstatic`: served by Granian itself
        cmd += ["--static-path-route", settings.STATIC_URL.rstrip("/"), "--static-path-mount", str(static_root)]
    return cmd + ["automations.wsgi:application"]


class Command(BaseCommand):
    help = "Run the production web server (Granian WSGI) until SIGTERM/SIGINT."

    def add_arguments(self, parser):
        sqlite = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
        parser.add_argument("--host", default=os.environ.get("FLOWLINE_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("FLOWLINE_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("FLOWLINE_WEB_WORKERS", 1 if sqlite else os.cpu_count() or 1)),
                            help="web processes (default: 1 on SQLite, one per core on PostgreSQL)")
        parser.add_argument("--threads", type=int, default=int(os.environ.get("FLOWLINE_WEB_THREADS", "8")),
                            help="request threads per process (default 8)")

    def handle(self, *args, host, port, workers, threads, **options):
        cmd = granian_command(host, port, workers, threads)
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(cmd[0], cmd)
