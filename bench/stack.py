"""A real Flowline on loopback for end-to-end tests and benchmarks: the production web server
(`manage.py serve`) and `manage.py worker` (django-q2 cluster + pumps + ticker) as subprocesses.

Embedded (default): SQLite files in its own data dir, the ORM broker.
Scaled: when DATABASE_URL / REDIS_URL are given (as keyword arguments or in the environment, as
`make test-scaled` does), each Stack creates a fresh PostgreSQL database on that server (dropped on close)
and uses its own cluster name on that Redis (queue, stats and cache keys are prefixed by it; deleted on
close), so stacks never see each other's work. `sql()` then runs on PostgreSQL with the same SQLite-style
text (`?` placeholders; JSON columns come back as text; `boolean = 1` works).
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, data_dir: Path, **env):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        self.env.update({
            "DJANGO_SETTINGS_MODULE": "automations.settings", "FLOWLINE_DATA_DIR": str(data_dir),
            "FLOWLINE_ALLOW_LOOPBACK": "1", "FLOWLINE_PUBLIC_URL": self.url, "FLOWLINE_TICK": "0.3",
            "FLOWLINE_RUN_LEASE": "6", "FLOWLINE_RETRY_BASE": "0.5",
            "FLOWLINE_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
        })
        scaled_db = env.pop("DATABASE_URL", None) or os.environ.get("DATABASE_URL")
        scaled_redis = env.pop("REDIS_URL", None) or os.environ.get("REDIS_URL")
        self.env.pop("DATABASE_URL", None)
        self.env.pop("REDIS_URL", None)
        self.env.update(env)
        self.procs: dict[str, subprocess.Popen] = {}
        self.pg_admin_url = self.redis_url = None
        self.cluster = self.env.get("FLOWLINE_CLUSTER_NAME") or f"e2e{uuid.uuid4().hex[:10]}"
        if scaled_db:
            self.pg_admin_url, self.pg_url = _fresh_database(scaled_db, f"flowline_{self.cluster}")
            self.env["DATABASE_URL"] = self.pg_url
        if scaled_redis:
            self.redis_url = scaled_redis
            self.env["REDIS_URL"] = scaled_redis
            self.env["FLOWLINE_CLUSTER_NAME"] = self.cluster
        self.manage("migrate", "--noinput", "-v", "0")
        if not scaled_redis:
            self.manage("migrate", "--database", "broker", "--noinput", "-v", "0")

    @property
    def scaled(self) -> bool:
        return self.pg_admin_url is not None

    def manage(self, *args, input: str | None = None) -> str:
        out = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, input=input,
                             capture_output=True, text=True, timeout=120)
        if out.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def python(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    def start(self, name: str, *args) -> subprocess.Popen:
        log = open(self.data_dir / f"{name}.log", "ab")
        p = subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = p
        return p

    def start_web(self, workers: int = 1, threads: int = 8, dev: bool = False):
        """The production web server (`manage.py serve`: Granian), or Django's runserver with `dev`."""
        if dev:
            self.start("web", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{self.port}")
        else:
            self.start("web", "serve", "--port", str(self.port), "--workers", str(workers), "--threads", str(threads))
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("web server did not start: " + (self.data_dir / "web.log").read_text())

    def start_worker(self, name="worker"):
        return self.start(name, "worker")

    def kill(self, name, sig=signal.SIGKILL):
        p = self.procs.pop(name)
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        p.wait(timeout=30)

    def sql(self, query: str, *params):
        """Run one statement (`?` placeholders) on the stack's database; writes are committed."""
        if self.scaled:
            import psycopg

            with psycopg.connect(self.pg_url, autocommit=True) as con:
                _text_json(con)
                cur = con.execute(query.replace("%", "%%").replace("?", "%s"), params)
                return [tuple(r) for r in cur.fetchall()] if cur.description else []
        con = sqlite3.connect(self.data_dir / "flowline.sqlite3", timeout=30)
        try:
            with con:  # commits a write
                return con.execute(query, params).fetchall()
        finally:
            con.close()

    def wait_for(self, predicate, timeout=60, interval=0.3, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out waiting for {what}")

    def create_flow(self, definition: dict, name="E2E flow") -> dict:
        code = (
            "import json; from automations.models import Workspace, Flow; from automations.flows import publish; "
            "from automations.triggers import sync_state; "
            "ws, _ = Workspace.objects.get_or_create(slug='e2e', defaults={'name': 'E2E'}); "
            f"f = Flow.objects.create(workspace=ws, name={name!r}, enabled=True, draft=json.loads({json.dumps(json.dumps(definition))})); "
            "publish(f); sync_state(f); print(json.dumps({'id': f.pk, 'token': f.webhook_token}))"
        )
        return json.loads(self.python(code).strip().splitlines()[-1])

    def close(self):
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM if name == "web" else signal.SIGKILL)
        if self.redis_url:
            _redis_delete_prefix(self.redis_url, self.cluster)
        if self.pg_admin_url:
            _drop_database(self.pg_admin_url, urlparse(self.pg_url).path.lstrip("/"))


# --- scaled mode helpers -------------------------------------------------------------------------------


def _fresh_database(url: str, name: str) -> tuple[str, str]:
    """Create database `name` on the server of `url`; return (admin url, url of the new database)."""
    import psycopg

    u = urlparse(url)
    admin = urlunparse(u._replace(path="/postgres"))
    name = re.sub(r"[^a-z0-9_]", "_", name.lower())[:60]
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    new = urlunparse(u._replace(path=f"/{name}"))
    with psycopg.connect(new, autocommit=True) as con:
        # Let SQLite-style test SQL (`possible_duplicate=1`) run unchanged in this throwaway database.
        con.execute("CREATE FUNCTION _bool_eq_int(boolean, integer) RETURNS boolean LANGUAGE sql IMMUTABLE "
                    "AS 'SELECT $1 = ($2 <> 0)'")
        con.execute("CREATE OPERATOR = (LEFTARG = boolean, RIGHTARG = integer, FUNCTION = _bool_eq_int)")
    return admin, new


def _drop_database(admin: str, name: str) -> None:
    import psycopg

    try:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception as exc:  # never fail a test on clean-up
        print(f"could not drop test database {name}: {exc}", file=sys.stderr)


def _redis_delete_prefix(url: str, cluster: str) -> None:
    import redis

    try:
        r = redis.Redis.from_url(url)
        for pattern in (f"django_q:{cluster}:*", f"{cluster}:*"):
            keys = list(r.scan_iter(pattern, count=1000))
            if keys:
                r.delete(*keys)
    except Exception as exc:
        print(f"could not clean Redis keys of {cluster}: {exc}", file=sys.stderr)


def _text_json(con) -> None:
    """JSON columns as text, like sqlite3 returns them."""
    from psycopg.types.json import set_json_loads

    set_json_loads(lambda data: bytes(data).decode() if isinstance(data, (bytes, memoryview)) else data, con)
