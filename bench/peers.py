"""Flowline as one more peer of ../shared/bench/peers (n8n, Node-RED): same job, same load, same fake CRM.

The job: webhook (the peers' wrk/post_event.lua event) -> map {firstName, lastName, email} -> POST to the
peers' fake CRM (fake_crm.py, aiohttp + uvloop from the venv setup.sh makes) -> the run recorded durably with
its step. Load: `wrk -t1 -cN -dDs --latency --timeout 10s -s post_event.lua` for N = 1, 8, 32 after a warm-up.

Flowline answers a webhook as soon as the delivery and its run are stored (then a worker runs it), so each
step reports two figures:
  intake      answered requests/s (wrk), p50/p99 answer latency, errors (wrk: connect/read/write/timeout/non-2xx)
  end to end  completed runs/s = succeeded runs / (last run's finished_at - wrk start), so the drain after
              wrk ends is included; p50/p99 of finished_at - created per run (database timestamps)
plus the CPU ms per run of all Flowline processes over the step and the peak RSS (and PSS, which counts
pages shared by forked processes once) of all Flowline processes (web + worker trees; not PostgreSQL/Redis).

Modes: `embedded` (SQLite WAL + ORM broker, the default install) and `pg<N>` (PostgreSQL + Redis, one
`manage.py worker` with N worker processes). Each mode starts from a fresh data dir / fresh database
(flowline_perf<hex>, dropped after) / its own Redis key prefix, and every process is stopped by its PID.

    .venv/bin/python bench/peers.py                                   # embedded, pg2, pg4; 30 s per step
    .venv/bin/python bench/peers.py --modes embedded --duration 10 --conc 32
    .venv/bin/python bench/peers.py --with-peers                      # + n8n/Node-RED via bench.py, ratios
    .venv/bin/python bench/peers.py --modes embedded --conc 32 --profile --no-write   # + py-spy of every process;
    .venv/bin/python bench/profile_report.py /tmp/flowline-peers-<stamp>/embedded-c32-*.txt --ours  # where it went

Needs `bash ../shared/bench/peers/setup.sh` (wrk, the fake CRM's venv; with --with-peers also n8n and
Node-RED). Writes bench/results/peers-<date>.json and bench/RESULTS-peers.md. Used by the bench only.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.peers_report import machine, markdown, ratios, versions  # noqa: E402
from bench.stack import Stack, free_port  # noqa: E402
from bench.throughput import process_tree as tree  # noqa: E402

PEERS_DIR = Path(os.environ.get("PEERS_DIR", ROOT.parent / "shared" / "bench" / "peers"))
PEERS_WORK = Path(os.environ.get("PEERS_WORK") or Path(os.environ.get("TMPDIR") or "/tmp") / "peers-bench")
LUA = PEERS_DIR / "wrk" / "post_event.lua"
PG_URL = os.environ.get("FLOWLINE_PERF_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("FLOWLINE_PERF_REDIS", "redis://127.0.0.1:6379/13")
ACTIVE = ("queued", "running", "waiting")
CLK = os.sysconf("SC_CLK_TCK")


def log(*a):
    print(f"[{datetime.now():%H:%M:%S}]", *a, file=sys.stderr, flush=True)


# --- processes ------------------------------------------------------------------------------------

def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{'smaps_rollup' if field == 'Pss:' else 'status'}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pids) -> float:
    total = 0.0
    for p in pids:
        try:
            s = Path(f"/proc/{p}/stat").read_text()
            total += sum(int(x) for x in s[s.rindex(")") + 2:].split()[11:15]) / CLK
        except (OSError, ValueError):
            pass
    return total


class Sampler(threading.Thread):
    """Peak RSS and PSS (MiB) of the process trees under `roots()`, sampled every 0.25 s."""

    def __init__(self, roots):
        super().__init__(daemon=True)
        self.roots, self.stopped = roots, threading.Event()
        self.peak_rss = self.peak_pss = 0.0

    def pids(self) -> list[int]:
        return [p for r in self.roots().values() for p in tree(r)]

    def cpu(self) -> dict:
        """CPU seconds so far of each root's tree ("web", "worker")."""
        return {name: cpu_seconds(tree(pid)) for name, pid in self.roots().items()}

    def run(self):
        while not self.stopped.wait(0.25):
            pids = self.pids()
            self.peak_rss = max(self.peak_rss, sum(_status_kb(p, "VmRSS:") for p in pids) / 1024)
            self.peak_pss = max(self.peak_pss, sum(_status_kb(p, "Pss:") for p in pids) / 1024)

    def reset(self):
        self.peak_rss = self.peak_pss = 0.0


def stop_process(p: subprocess.Popen, grace=10):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


# --- the fake CRM (the peers' own) -------------------------------------------------------------------

class FakeCRM:
    def __init__(self, logdir: Path):
        venv_py = PEERS_WORK / "venv" / "bin" / "python"
        self.python = str(venv_py) if venv_py.exists() else sys.executable  # stdlib fallback without aiohttp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/contacts/"
        self.proc = subprocess.Popen([self.python, str(PEERS_DIR / "fake_crm.py"), "--port", str(self.port)],
                                     stdout=open(logdir / "fake-crm.log", "ab"), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if self.stats().get("pid") == self.proc.pid:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("fake CRM did not start")

    def stats(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_stats", timeout=5) as r:
            return json.loads(r.read())

    def close(self):
        stop_process(self.proc)


# --- load -------------------------------------------------------------------------------------------

def run_wrk(url: str, conc: int, duration: int) -> dict:
    cmd = ["wrk", "-t1", f"-c{conc}", f"-d{duration}s", "--latency", "--timeout", "10s", "-s", str(LUA), url]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    for line in r.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return json.loads(line[len("WRK_JSON "):])
    raise RuntimeError(f"wrk gave no summary: rc={r.returncode} {r.stdout[-400:]} {r.stderr[-400:]}")


def paced(url: str, rate: float, duration: float) -> dict:
    """Open-loop load: one request every 1/rate s (the wrk script's event), each on a keep-alive connection
    of a small pool; latency counted from when the request was due, so a stall is not hidden
    (no coordinated omission). Returns answer p50/p99/max and errors."""
    import http.client
    import queue
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlparse

    u = urlparse(url)
    pool: queue.Queue = queue.Queue()
    lat, errors = [], [0]

    def send(i, due):
        conn = pool.get_nowait() if not pool.empty() else http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        body = json.dumps({"event": "form.submitted", "form_id": "contact-us", "data": {
            "first_name": "Ada", "last_name": "Lovelace", "email_address": f"ada+paced{i}@example.com"}})
        try:
            conn.request("POST", u.path, body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            lat.append((time.perf_counter() - due) * 1000)
            errors[0] += r.status != 200
            pool.put(conn)
        except OSError:
            errors[0] += 1
            conn.close()

    start, n = time.perf_counter() + 0.1, int(rate * duration)
    with ThreadPoolExecutor(64) as ex:
        for i in range(n):
            due = start + i / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            ex.submit(send, i, due)
    while not pool.empty():
        pool.get_nowait().close()
    lat.sort()
    pct = lambda q: round(lat[min(len(lat) - 1, int(len(lat) * q))], 1) if lat else None  # noqa: E731
    return {"rate": rate, "requests": n, "answered": len(lat), "errors": errors[0],
            "answer_p50_ms": pct(0.5), "answer_p99_ms": pct(0.99), "answer_max_ms": round(lat[-1], 1) if lat else None}


def flow_definition(crm_url: str) -> dict:
    """The peers' workflow as a Flowline flow: webhook trigger + one HTTP request step."""
    return {"trigger": {"operation": "webhook.catch_hook", "inputs": {}},
            "steps": [{"id": "s1", "key": "crm", "name": "CRM: create contact", "operation": "http.request",
                       "inputs": {"method": "POST", "url": crm_url, "body": {
                           "firstName": "{{ trigger.data.first_name }}", "lastName": "{{ trigger.data.last_name }}",
                           "email": "{{ trigger.data.email_address }}"}}}]}


def epoch(stack: Stack, column: str) -> str:
    return f"extract(epoch from {column})" if stack.scaled else f"((julianday({column}) - 2440587.5) * 86400.0)"


def drain(stack: Stack, after_id: int, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not stack.sql(f"select 1 from automations_run where id > ? and status in {ACTIVE} limit 1", after_id):
            return True
        time.sleep(0.2)
    return False


def max_run_id(stack: Stack) -> int:
    return stack.sql("select coalesce(max(id), 0) from automations_run")[0][0]


def measure(stack: Stack, crm: FakeCRM, url: str, conc: int, duration: int, drain_timeout: float, sampler) -> dict:
    first = max_run_id(stack)
    crm0 = crm.stats()["received"]
    cpu0 = sampler.cpu()
    sampler.reset()
    t0 = time.time()
    w = run_wrk(url, conc, duration)
    drained = drain(stack, first, drain_timeout)
    cpu1 = sampler.cpu()
    rows = stack.sql(f"select status, {epoch(stack, 'created')}, {epoch(stack, 'finished_at')} "
                     "from automations_run where id > ?", first)
    steps = stack.sql("select count(*) from automations_stepresult s join automations_run r on r.id = s.run_id "
                      "where r.id > ? and s.status = 'succeeded'", first)[0][0]
    done = [r for r in rows if r[0] == "succeeded"]
    # Every run should succeed: say what happened to any that did not (the database is dropped after the mode).
    others = stack.sql("select id, status, claims, possible_duplicate, error_category, error_step, error_message "
                       "from automations_run where id > ? and status <> 'succeeded' order by id limit 5", first)
    for other in others:
        log("run not succeeded:", other)
    lat = sorted((float(r[2]) - float(r[1])) * 1000 for r in done)
    last = max((float(r[2]) for r in done), default=t0)
    secs = w["duration_us"] / 1e6
    errors = sum(w[k] for k in ("err_connect", "err_read", "err_write", "err_status", "err_timeout"))
    return {
        "conc": conc, "duration_s": round(secs, 2), "requests": w["requests"], "errors": errors,
        "err_detail": {k: w[k] for k in w if k.startswith("err_") and w[k]},
        "intake_rps": round(w["requests"] / secs, 1),
        "answer_p50_ms": round(w["lat_p50_us"] / 1000, 2), "answer_p99_ms": round(w["lat_p99_us"] / 1000, 2),
        "runs": len(rows), "succeeded": len(done), "steps_recorded": steps, "drained": drained,
        "not_succeeded": [list(map(str, o)) for o in others],
        "crm_received": crm.stats()["received"] - crm0,
        "e2e_runs_per_s": round(len(done) / max(last - t0, 1e-6), 1),
        "drain_s": round(max(0.0, last - t0 - secs), 2),
        "run_p50_ms": round(statistics.median(lat), 1) if lat else None,
        "run_p99_ms": round(lat[max(0, int(len(lat) * 0.99) - 1)], 1) if lat else None,
        "cpu_ms_per_run": round(1000 * sum(cpu1[k] - cpu0[k] for k in cpu1) / len(rows), 2) if rows else None,
        "cpu_ms_per_run_by_process": {k: round(1000 * (cpu1[k] - cpu0[k]) / len(rows), 2) for k in cpu1} if rows else None,
        "peak_rss_mib": round(sampler.peak_rss, 1), "peak_pss_mib": round(sampler.peak_pss, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),  # > ~3 on 2 cores: something else was running too
    }


def mode_env(mode: str, args) -> dict:
    workers = int(mode[2:]) if mode.startswith("pg") else args.workers
    env = {"FLOWLINE_WORKERS": str(workers), "FLOWLINE_LOG_LEVEL": "WARNING", "FLOWLINE_DEBUG": "0",
           "FLOWLINE_WEBHOOK_RATE": "0",  # the per-workspace intake limit (50/s) would answer 429s: off here
           "FLOWLINE_TICK": "1", "FLOWLINE_RUN_LEASE": "90",
           "FLOWLINE_RETRY_BASE": "5", "FLOWLINE_CLUSTER_NAME": f"perf{os.urandom(5).hex()}"}
    if mode.startswith("pg"):
        env.update(DATABASE_URL=PG_URL, REDIS_URL=REDIS_URL)
    return env


def bench_mode(mode: str, args, crm: FakeCRM, logdir: Path) -> dict:
    res = {"mode": mode, "steps": []}
    data_dir = Path(tempfile.mkdtemp(prefix=f"flowline-peers-{mode}-"))
    env = mode_env(mode, args)
    res["workers"] = int(env["FLOWLINE_WORKERS"])
    web_workers = args.web_workers or (1 if mode == "embedded" else os.cpu_count() or 1)
    res["web"] = f"manage.py serve (granian) --workers {web_workers} --threads {args.threads}"
    stack = sampler = None
    try:
        stack = Stack(data_dir, **env)
        flow = stack.create_flow(flow_definition(crm.url), name="Peers bench")
        stack.start_web(workers=web_workers, threads=args.threads)
        stack.start_worker()
        url = f"{stack.url}/hooks/{flow['token']}"
        sampler = Sampler(lambda: {name: p.pid for name, p in stack.procs.items()})
        sampler.start()
        time.sleep(2)
        res["idle_rss_mib"] = round(sum(_status_kb(p, "VmRSS:") for p in sampler.pids()) / 1024, 1)
        res["processes"] = len(sampler.pids())
        if args.warmup:
            first = max_run_id(stack)
            run_wrk(url, 8, args.warmup)
            drain(stack, first, args.drain_timeout)
            log(f"{mode}: warm-up {args.warmup}s done")
        session_rss = session_pss = 0.0
        for c in args.conc:
            spies = profile(sampler.pids(), logdir / f"{mode}-c{c}", args.duration) if args.profile else []
            step = measure(stack, crm, url, c, args.duration, args.drain_timeout, sampler)
            session_rss, session_pss = max(session_rss, step["peak_rss_mib"]), max(session_pss, step["peak_pss_mib"])
            res["steps"].append(step)
            for spy in spies:
                spy.wait(60)
            log(f"{mode} c={c}: intake {step['intake_rps']}/s (p99 {step['answer_p99_ms']} ms) e2e "
                f"{step['e2e_runs_per_s']} runs/s (p50 {step['run_p50_ms']} / p99 {step['run_p99_ms']} ms) "
                f"errors {step['errors']} ok {step['succeeded']}/{step['runs']} cpu {step['cpu_ms_per_run_by_process']} ms/run "
                f"rss {step['peak_rss_mib']} / pss {step['peak_pss_mib']} MiB")
        if args.paced:
            first = max_run_id(stack)
            res["paced"] = paced(url, args.paced, args.duration)
            res["paced"]["drained"] = drain(stack, first, args.drain_timeout)
            res["paced"]["load_avg_1m"] = round(os.getloadavg()[0], 2)
            log(f"{mode} paced {args.paced}/s: {res['paced']}")
        res["peak_rss_mib"], res["peak_pss_mib"] = round(session_rss, 1), round(session_pss, 1)
    except Exception as exc:
        log(f"{mode} FAILED: {exc}")
        res["error"] = str(exc)[:2000]
    finally:
        if sampler is not None:
            sampler.stopped.set()
        if stack is not None:
            for name in ("web.log", "worker.log"):
                if (data_dir / name).exists():
                    shutil.copy(data_dir / name, logdir / f"{mode}-{name}")
            stack.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    return res


def profile(pids, prefix: Path, duration: int) -> list[subprocess.Popen]:
    """py-spy every Flowline process for the step (collapsed stacks, `<prefix>-<pid>.txt`; bench/profile_report.py
    sums them by function). py-spy reads the processes' memory from outside, but it needs CPU itself: throughput
    drops while profiling (the CPU ms/run stays comparable)."""
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install -e '.[bench]'")
    return [subprocess.Popen([str(spy), "record", "--pid", str(pid), "--duration", str(duration), "--rate", "250",
                              "--nonblocking", "--format", "raw", "-o", f"{prefix}-{pid}.txt"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for pid in pids]


# --- the peers (their own harness) ----------------------------------------------------------------

def run_peers(args, logdir: Path) -> dict | None:
    out = logdir / "peers"
    cmd = [sys.executable, str(PEERS_DIR / "bench.py"), "--peers", args.peers, "--duration", str(args.duration),
           "--conc", ",".join(map(str, args.conc)), "--warmup", str(args.warmup), "--out", str(out)]
    log("peers:", " ".join(cmd))
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True)
    budget = 600 + len(args.peers.split(",")) * (len(args.conc) * (args.duration + 40) + 300)
    try:
        p.wait(budget)
    except subprocess.TimeoutExpired:
        log(f"peers bench exceeded {budget}s; stopping it")
    finally:
        stop_process(p, grace=60)  # bench.py stops its own children on SIGTERM
    try:
        return json.loads((out / "results.json").read_text())
    except (OSError, ValueError):
        log("peers bench left no results (is n8n installed? run setup.sh)")
        return None


# --- report -----------------------------------------------------------------------------------------

def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modes", default="embedded,pg2,pg4", help="comma list of: embedded, pg<N> (N worker processes)")
    ap.add_argument("--duration", type=int, default=30, help="seconds of wrk per concurrency (default 30)")
    ap.add_argument("--conc", default="1,8,32")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2, help="worker processes in embedded mode (default 2)")
    ap.add_argument("--web-workers", type=int, default=0, help="web processes (default as `manage.py serve`: 1 on "
                    "SQLite, one per core on PostgreSQL)")
    ap.add_argument("--threads", type=int, default=8, help="request threads per web process (default 8)")
    ap.add_argument("--drain-timeout", type=float, default=300)
    ap.add_argument("--paced", type=float, default=50, help="then an open-loop step at this many req/s for the "
                    "answer latency target (0: skip; default 50)")
    ap.add_argument("--profile", action="store_true", help="py-spy every Flowline process during each step")
    ap.add_argument("--with-peers", action="store_true", help="also run ../shared/bench/peers/bench.py")
    ap.add_argument("--peers", default="n8n-default,n8n-legacy-expr,node-red")
    ap.add_argument("--no-write", action="store_true", help="don't write bench/results and RESULTS-peers.md")
    ap.add_argument("--render", metavar="JSON", help="only rewrite bench/RESULTS-peers.md from a results file")
    args = ap.parse_args()
    if args.render:
        (ROOT / "bench" / "RESULTS-peers.md").write_text(markdown(json.loads(Path(args.render).read_text())))
        return
    args.conc = [int(x) for x in args.conc.split(",")]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        if m != "embedded" and not (m.startswith("pg") and m[2:].isdigit()):
            sys.exit(f"unknown mode {m!r}")
    if shutil.which("wrk") is None or not LUA.exists():
        sys.exit(f"needs wrk and {LUA}: run `bash {PEERS_DIR}/setup.sh`")
    signal.signal(signal.SIGTERM, _raise_exit)
    signal.signal(signal.SIGINT, _raise_exit)
    for k in ("DATABASE_URL", "REDIS_URL"):  # modes choose their own (fresh flowline_perf* database, Redis db 13)
        os.environ.pop(k, None)

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    logdir = Path(tempfile.gettempdir()) / f"flowline-peers-{stamp}"
    logdir.mkdir(parents=True)
    report = {"meta": {"date": datetime.now().astimezone().isoformat(timespec="seconds"), "machine": machine(),
                       "versions": versions(PG_URL, REDIS_URL, PEERS_WORK), "duration_s": args.duration, "conc": args.conc, "warmup_s": args.warmup,
                       "command": " ".join([".venv/bin/python bench/peers.py"] + sys.argv[1:]), "logs": str(logdir)},
              "flowline": []}
    log("logs:", logdir)
    crm = FakeCRM(logdir)
    try:
        for mode in modes:
            log(f"=== flowline {mode}")
            report["flowline"].append(bench_mode(mode, args, crm, logdir))
    finally:
        crm.close()
    if args.with_peers:
        report["peers"] = run_peers(args, logdir)
        report["ratios"] = ratios(report["flowline"], report["peers"])
    md = markdown(report)
    print(md)
    if not args.no_write:
        out = ROOT / "bench" / "results" / f"peers-{datetime.now():%Y-%m-%d}.json"
        if out.exists():  # a second run the same day keeps the first
            out = out.with_name(f"peers-{datetime.now():%Y-%m-%d-%H%M}.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
        (ROOT / "bench" / "RESULTS-peers.md").write_text(md)
        log("wrote", out, "and bench/RESULTS-peers.md")


if __name__ == "__main__":
    main()
