"""bench/peers.py's report: the versions and machine it ran on, the Markdown tables of
bench/RESULTS-peers.md and the ratios to the peers."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def versions(pg_url: str, redis_url: str, peers_work: Path) -> dict:
    from importlib import metadata

    import django

    v = {"python": platform.python_version(), "django": django.get_version(), "django-q2": metadata.version("django-q2"),
         "granian": metadata.version("granian")}
    try:
        v["wrk"] = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("[")[0].strip()
    except OSError:
        v["wrk"] = "?"
    for key, cmd in {"postgresql": ["psql", pg_url, "-Atc", "show server_version"],
                     "redis": ["redis-cli", "-u", redis_url, "info", "server"]}.items():
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
            v[key] = next((line.split(":")[1].strip() for line in out.splitlines() if line.startswith("redis_version")),
                          out.strip()) if key == "redis" else out.strip()
        except (OSError, subprocess.TimeoutExpired):
            v[key] = "?"
    try:
        out = subprocess.run([str(peers_work / "venv" / "bin" / "python"), "-c",
                              "import aiohttp, uvloop; print(aiohttp.__version__, uvloop.__version__)"],
                             capture_output=True, text=True, timeout=20).stdout.split()
        v["fake CRM"] = f"aiohttp {out[0]} + uvloop {out[1]}"
    except (OSError, IndexError, subprocess.TimeoutExpired):
        v["fake CRM"] = "stdlib ThreadingHTTPServer"
    return v


def machine() -> dict:
    m = {"cpus": os.cpu_count(), "kernel": platform.release(), "arch": platform.machine()}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            m["cpu"] = line.split(":", 1)[1].strip()
            break
    m["mem_gib"] = round(int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024, 1)
    m["load_before"] = os.getloadavg()[0]
    return m


def markdown(report: dict) -> str:
    meta = report["meta"]
    lines = [
        "# Flowline vs n8n and Node-RED: webhook -> map -> CRM POST -> run recorded (bench/peers.py)", "",
        f"Date: {meta['date']}. Machine: {meta['machine'].get('cpu', '?')}, {meta['machine']['cpus']} cores, "
        f"{meta['machine']['mem_gib']} GiB, kernel {meta['machine']['kernel']} (load average before the run: "
        f"{meta['machine']['load_before']:.2f}; load generator, fake CRM, Flowline, PostgreSQL and Redis share the cores).",
        "", "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".", "",
        f"Command: `{meta['command']}`", "",
        *([f"Note: {meta['note']}", ""] if meta.get("note") else []),
        f"Each mode: fresh database, warm-up {meta['warmup_s']} s at c=8 (not recorded), then "
        f"`wrk -t1 -cN -d{meta['duration_s']}s --latency --timeout 10s -s post_event.lua` per concurrency. "
        "Intake = answered requests/s (the delivery and its run are stored before the 200); end to end = "
        "succeeded runs / (last finished_at - wrk start), drain included; run p50/p99 = finished_at - created. "
        "CPU ms/run = all Flowline processes' CPU over the step / runs. RSS/PSS: all Flowline processes "
        "(PSS counts pages shared by forked workers once), not PostgreSQL/Redis.", "",
        "| mode | conc | intake req/s | answer p50 / p99 ms | errors | e2e runs/s | drain s | run p50 / p99 ms "
        "| runs ok / stored / CRM got | CPU ms/run (web + worker) | peak RSS / PSS MiB | load 1m |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in report["flowline"]:
        label = f"{m['mode']} ({m['workers']} workers, {m.get('web', '')})"
        if m.get("error"):
            lines.append(f"| {label} | - | FAILED: {m['error'][:200]} | | | | | | | | | |")
        for s in m["steps"]:
            lines.append(f"| {label} | {s['conc']} | {s['intake_rps']:.0f} | {s['answer_p50_ms']} / {s['answer_p99_ms']} "
                         f"| {s['errors']} | {s['e2e_runs_per_s']:.0f} | {s['drain_s']} | {s['run_p50_ms']} / {s['run_p99_ms']} "
                         f"| {s['succeeded']} / {s['runs']} / {s['crm_received']} | {s['cpu_ms_per_run']} ("
                         f"{' + '.join(str(v) for v in (s['cpu_ms_per_run_by_process'] or {}).values())}) "
                         f"| {s['peak_rss_mib']:.0f} / {s['peak_pss_mib']:.0f} | {s.get('load_avg_1m', '-')} |")
    paced_rows = [m for m in report["flowline"] if m.get("paced")]
    if paced_rows:
        lines += ["", "Webhook answer latency under an open-loop load (bench/peers.py `paced`: one request every "
                  "1/rate s, latency from when it was due):", "",
                  "| mode | rate req/s | requests | errors | answer p50 ms | p99 ms | max ms | load 1m |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for m in paced_rows:
            p = m["paced"]
            lines.append(f"| {m['mode']} | {p['rate']:g} | {p['requests']} | {p['errors']} | {p['answer_p50_ms']} | "
                         f"{p['answer_p99_ms']} | {p['answer_max_ms']} | {p.get('load_avg_1m', '-')} |")
    if report.get("ratios"):
        lines += ["", "## Ratios (same run): Flowline end-to-end runs/s / peer req/s (n8n answers after the CRM call)", "",
                  "| mode | conc | Flowline e2e | n8n-default | x | n8n-legacy-expr | x |", "|---|---:|---:|---:|---:|---:|---:|"]
        for r in report["ratios"]:
            lines.append(f"| {r['mode']} | {r['conc']} | {r['flowline']} | {r.get('n8n-default', '-')} | "
                         f"{r.get('x n8n-default', '-')} | {r.get('n8n-legacy-expr', '-')} | {r.get('x n8n-legacy-expr', '-')} |")
    if report.get("peers"):
        lines += ["", "## Peers (../shared/bench/peers/bench.py, same run)", "",
                  "| peer | conc | req/s | p50 ms | p99 ms | errors | CRM got | CPU ms/event | peak RSS MiB |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for p in report["peers"]["results"]:
            if p.get("error"):
                lines.append(f"| {p['peer']} | - | FAILED: {p['error'][:200]} | | | | | | |")
            for s in p["steps"]:
                lines.append(f"| {p['peer']} | {s['conc']} | {s['rps']:.0f} | {s['p50_ms']} | {s['p99_ms']} | {s['errors']} "
                             f"| {s['crm_received']} | {s.get('cpu_ms_per_event')} | {p.get('peak_rss_tree_mib', '-')} |")
    return "\n".join(lines) + "\n"


def ratios(flowline: list, peers: dict | None) -> list:
    if not peers:
        return []
    rate = {(p["peer"], s["conc"]): s["rps"] for p in peers["results"] for s in p["steps"]}
    out = []
    for m in flowline:
        for s in m["steps"]:
            row = {"mode": m["mode"], "conc": s["conc"], "flowline": s["e2e_runs_per_s"]}
            for peer in ("n8n-default", "n8n-legacy-expr"):
                if rate.get((peer, s["conc"])):
                    row[peer] = rate[(peer, s["conc"])]
                    row[f"x {peer}"] = round(s["e2e_runs_per_s"] / rate[(peer, s["conc"])], 1)
            out.append(row)
    return out
