"""Operations endpoints: readiness (`/health/ready`) and Prometheus metrics (`/metrics`).

Readiness answers JSON::

    {"status": "ok" | "degraded" | "down", "database": {...}, "broker": {...}, "workers": {...},
     "queue_depth": 3, "queued_runs": 5, "oldest_queued_run_age_s": 1.2}

* 503 when the database or the broker cannot be reached ("down"): take this web process out of rotation.
* "degraded" (no worker cluster alive, or a queued run older than FLOWLINE_HEALTH_MAX_QUEUE_AGE) answers
  200, because this web process can still accept webhooks durably; `?strict=1` makes it 503 too.

Workers are django-q2's cluster heartbeats (`Stat.get_all()`): each cluster's sentinel saves its status
every few seconds with a short TTL, in Redis (scale-out) or in the shared file cache (embedded; see
`Q_CLUSTER["cache"]` in settings).

Metrics are computed from the database on each scrape (keep the scrape interval >= 15 s). When
FLOWLINE_METRICS_TOKEN is set, `/metrics` needs `Authorization: Bearer <token>`.
"""
from __future__ import annotations

import hmac
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, Min
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from .models import Run, StepResult

log = logging.getLogger("flowline.ops")

# Step latency buckets (seconds) and the window of StepResults the histogram and 429 counts cover.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
METRICS_WINDOW = timedelta(minutes=15)
METRICS_MAX_STEPS = 20_000


# --------------------------------------------------------------------------------------------- probes


def check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as c:
            c.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor, "ms": round((time.monotonic() - started) * 1000, 1)}
    except DatabaseError as exc:
        return {"ok": False, "vendor": connection.vendor, "error": type(exc).__name__}


def check_broker() -> dict:
    """Ping the broker and read its queue depth (tasks waiting to be picked up by a cluster)."""
    try:
        from django_q.brokers import get_broker

        broker = get_broker()
        broker.ping()
        return {"ok": True, "kind": "redis" if settings.REDIS_URL else "orm", "queue_depth": int(broker.queue_size())}
    except Exception as exc:  # redis.ConnectionError, DatabaseError, ...
        return {"ok": False, "kind": "redis" if settings.REDIS_URL else "orm", "error": type(exc).__name__}


def check_workers() -> dict:
    """Live django-q2 clusters (their heartbeat expires a few seconds after a cluster stops)."""
    try:
        from django_q.status import Stat

        stats = Stat.get_all()
    except Exception as exc:
        return {"alive": 0, "clusters": [], "error": type(exc).__name__}
    clusters = [{"cluster": str(s.cluster_id), "host": s.host, "status": s.status, "workers": len(s.workers or [])}
                for s in stats]
    return {"alive": len(clusters), "clusters": clusters}


def queued_runs() -> dict:
    row = Run.objects.filter(status=Run.QUEUED).aggregate(n=Count("pk"), oldest=Min("enqueued_at"))
    age = (timezone.now() - row["oldest"]).total_seconds() if row["oldest"] else 0.0
    return {"queued_runs": row["n"], "oldest_queued_run_age_s": round(max(age, 0.0), 3)}


@require_GET
def health_ready(request):
    database = check_database()
    broker = check_broker()
    workers = check_workers()
    body = {"database": database, "broker": broker, "workers": workers,
            "queue_depth": broker.get("queue_depth"), "queued_runs": None, "oldest_queued_run_age_s": None}
    if database["ok"]:
        try:
            body.update(queued_runs())
        except DatabaseError:
            database["ok"] = False
    if not (database["ok"] and broker["ok"]):
        body["status"] = "down"
    elif workers["alive"] == 0 or (body["oldest_queued_run_age_s"] or 0) > settings.FLOWLINE_HEALTH_MAX_QUEUE_AGE:
        body["status"] = "degraded"
    else:
        body["status"] = "ok"
    strict = request.GET.get("strict") in ("1", "true")
    failing = body["status"] == "down" or (strict and body["status"] != "ok")
    response = JsonResponse(body, status=503 if failing else 200)
    response["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------------------------- metrics


def _esc(value) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Out:
    """Prometheus text exposition format 0.0.4."""

    def __init__(self):
        self.lines: list[str] = []

    def metric(self, name, kind, help_text, samples):
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        self.samples(name, samples)

    def samples(self, name, samples):
        for labels, value in samples:
            label_text = ",".join(f'{k}="{_esc(v)}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{label_text}}} {value}" if label_text else f"{name} {value}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _step_connection(definition: dict, step_id: str):
    """The connection id a step of a flow definition uses (searching branches and loops)."""
    stack = list((definition or {}).get("steps") or [])
    while stack:
        s = stack.pop()
        if s.get("id") == step_id:
            return s.get("connection")
        stack.extend(s.get("steps") or [])
        for b in s.get("branches") or []:
            stack.extend(b.get("steps") or [])
    return None


def rate_limited_by_connection(since) -> dict:
    """429s (attempts that ended `rate_limited`) of recent steps, by the connection the step used."""
    counts: dict[str, int] = {}
    definitions: dict[int, dict] = {}
    rows = (StepResult.objects.filter(started_at__gte=since, attempt_log__icontains="rate_limited")
            .values_list("run__version_id", "step_id", "attempt_log")[:METRICS_MAX_STEPS])
    for version_id, step_id, attempt_log in rows:
        if version_id not in definitions:
            from .models import FlowVersion

            definitions[version_id] = FlowVersion.objects.filter(pk=version_id).values_list("definition", flat=True).first() or {}
        conn = _step_connection(definitions[version_id], step_id)
        n = sum(1 for a in attempt_log or [] if str(a.get("error", "")).startswith("rate_limited"))
        if n:
            key = str(conn) if conn else "none"
            counts[key] = counts.get(key, 0) + n
    return counts


def render_metrics() -> str:
    out = _Out()
    now = timezone.now()
    since = now - METRICS_WINDOW
    by_status = dict(Run.objects.order_by().values_list("status").annotate(n=Count("pk")))
    out.metric("flowline_runs", "gauge", "Runs by status.",
               [({"status": s}, by_status.get(s, 0)) for s, _ in Run.STATUSES])
    durations = list(StepResult.objects.filter(finished_at__gte=since, duration_ms__isnull=False)
                     .order_by("-finished_at").values_list("duration_ms", flat=True)[:METRICS_MAX_STEPS])
    buckets = [({"le": le}, sum(1 for d in durations if d / 1000 <= le)) for le in LATENCY_BUCKETS]
    out.metric("flowline_step_duration_seconds", "histogram",
               f"Step latency of steps finished in the last {int(METRICS_WINDOW.total_seconds())} s.", [])
    out.samples("flowline_step_duration_seconds_bucket", buckets + [({"le": "+Inf"}, len(durations))])
    out.samples("flowline_step_duration_seconds_sum", [({}, round(sum(durations) / 1000, 3))])
    out.samples("flowline_step_duration_seconds_count", [({}, len(durations))])
    broker = check_broker()
    out.metric("flowline_queue_depth", "gauge", "Tasks waiting in the broker.", [({}, broker.get("queue_depth", -1))])
    q = queued_runs()
    out.metric("flowline_queued_runs", "gauge", "Runs in status queued.", [({}, q["queued_runs"])])
    out.metric("flowline_oldest_queued_run_age_seconds", "gauge", "Age of the oldest queued run.",
               [({}, q["oldest_queued_run_age_s"])])
    workers = check_workers()
    out.metric("flowline_worker_clusters", "gauge", "Live worker clusters (django-q2 heartbeats).", [({}, workers["alive"])])
    limited = rate_limited_by_connection(since)
    out.metric("flowline_rate_limited_total", "gauge",
               f"Upstream 429s (rate_limited attempts) in the last {int(METRICS_WINDOW.total_seconds())} s by connection id.",
               [({"connection": c}, n) for c, n in sorted(limited.items())])
    return out.text()


def _authorised(request) -> bool:
    token = getattr(settings, "FLOWLINE_METRICS_TOKEN", "")
    if not token:
        return True
    given = request.headers.get("Authorization", "")
    return given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode())


@require_GET
def metrics(request):
    if not _authorised(request):
        response = HttpResponse("unauthorised\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    try:
        text = render_metrics()
    except DatabaseError:
        log.exception("metrics: database unavailable")
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse(text, content_type="text/plain; version=0.0.4; charset=utf-8")
