"""Retention: delete runs older than each workspace's `retention_days`, trim oversized payloads, and
give the space back to the file system on SQLite.

Deletes go in batches of FLOWLINE_PRUNE_BATCH runs, each in its own short transaction (steps,
deliveries and the run rows), so the web and the workers only ever wait for one small batch.
Only finished runs are deleted (a run waiting on a long Delay is kept). Their counts stay in the
dashboards' rollup (automations/rollup.py) for FLOWLINE_ROLLUP_DAYS. The ticker calls
`maybe_prune()` every tick; at most once an hour it enqueues `prune_all` on the task queue.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connections, router, transaction
from django.db.models import TextField
from django.db.models.functions import Cast, Length
from django.utils import timezone

from . import rollup
from .models import ReplayJob, Run, StepResult, WebhookDelivery, Workspace

log = logging.getLogger("flowline.retention")
FINISHED = (Run.SUCCEEDED, Run.FAILED, Run.HALTED, Run.CANCELLED)
PAYLOAD_FIELDS = {Run: ("trigger_payload",), StepResult: ("input", "output", "request", "response")}
TRIM_LOOKBACK = timedelta(days=2)  # the hourly job looks at runs that became old enough in this span


def prune_workspace(ws, now=None, batch=None) -> int:
    """Delete this workspace's finished runs older than its retention. Returns the number deleted."""
    now = now or timezone.now()
    batch = batch or settings.FLOWLINE_PRUNE_BATCH
    cutoff = now - timedelta(days=ws.retention_days)
    old = Run.objects.filter(workspace=ws, created__lt=cutoff, status__in=FINISHED).order_by("created")
    deleted = 0
    while True:
        ids = list(old.values_list("pk", flat=True)[:batch])
        if not ids:
            break
        with transaction.atomic():
            StepResult.objects.filter(run_id__in=ids).delete()
            WebhookDelivery.objects.filter(run_id__in=ids).delete()
            Run.objects.filter(replay_of_id__in=ids).update(replay_of=None)
            Run.objects.filter(pk__in=ids)._raw_delete(Run.objects.db)  # relations handled just above
        deleted += len(ids)
    WebhookDelivery.objects.filter(workspace=ws, received_at__lt=cutoff, run__isnull=True).delete()
    ReplayJob.objects.filter(workspace=ws, created__lt=cutoff).delete()
    return deleted


def _trim(value, size: int) -> dict:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return {"_trimmed": True, "bytes": size, "note": f"Trimmed by retention: over {settings.FLOWLINE_PAYLOAD_CAP:,} bytes.",
            "preview": text[:2000]}


def trim_payloads(now=None) -> int:
    """Replace payloads over FLOWLINE_PAYLOAD_CAP bytes, in runs that just turned
    FLOWLINE_PAYLOAD_FULL_DAYS old, with a preview. Returns the number of fields trimmed."""
    now = now or timezone.now()
    newest = now - timedelta(days=settings.FLOWLINE_PAYLOAD_FULL_DAYS)
    runs = Run.objects.filter(created__lt=newest, created__gte=newest - TRIM_LOOKBACK, status__in=FINISHED)
    low = runs.order_by("created").values_list("pk", flat=True).first()
    if low is None:
        return 0
    high = runs.order_by("-created").values_list("pk", flat=True).first()
    trimmed = 0
    for model, fields in PAYLOAD_FIELDS.items():
        key = "pk" if model is Run else "run_id"
        for name in fields:
            size = Length(Cast(name, TextField()))
            big = (model.objects.filter(**{f"{key}__gte": low, f"{key}__lte": high}).annotate(size=size)
                   .filter(size__gt=settings.FLOWLINE_PAYLOAD_CAP).exclude(**{name: None}))
            for pk, value, n in big.values_list("pk", name, "size").iterator(chunk_size=100):
                if not (isinstance(value, dict) and value.get("_trimmed")):
                    model.objects.filter(pk=pk).update(**{name: _trim(value, n)})
                    trimmed += 1
    return trimmed


def reclaim_space(alias=None, force_vacuum=False) -> str:
    """SQLite only: give freed pages back to the file system (see `reclaim_sqlite`)."""
    alias = alias or router.db_for_write(Run)
    conn = connections[alias]
    if conn.vendor != "sqlite":
        return "not sqlite (the database reclaims space itself)"
    runs = Run.objects.using(alias)  # one status per query: each reads its partial index (run_lease, run_queued)
    idle = not runs.filter(status=Run.RUNNING).exists() and not runs.filter(status=Run.QUEUED).exists()
    with conn.cursor() as cursor:
        return reclaim_sqlite(cursor, idle=idle, force_vacuum=force_vacuum)


def _pragma(cursor, name):
    cursor.execute(f"PRAGMA {name}")
    return cursor.fetchone()[0]


def reclaim_sqlite(cursor, idle=True, force_vacuum=False) -> str:
    """With auto_vacuum=INCREMENTAL, free up to 4,000 pages (short, bounded). Otherwise VACUUM once,
    when a quarter of the file is free and no run is queued or running (or when forced), switching the
    file to INCREMENTAL so that later calls are cheap. Returns what it did."""
    if _pragma(cursor, "auto_vacuum") == 2:
        # sqlite3's execute() steps a statement once (= one page here); executescript runs it to the end
        cursor.executescript("PRAGMA incremental_vacuum(4000);")
        return "incremental_vacuum"
    free, pages = _pragma(cursor, "freelist_count"), _pragma(cursor, "page_count") or 1
    if force_vacuum or (idle and free / pages > 0.25):
        cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
        cursor.execute("VACUUM")
        return "vacuum"
    return "nothing to do"


def prune_all(now=None, vacuum=True) -> dict:
    """Prune every workspace, trim payloads, reclaim space. The task and `manage.py prune_runs` call this."""
    now = now or timezone.now()
    deleted = {ws.slug: n for ws in Workspace.objects.all() if (n := prune_workspace(ws, now))}
    rollup.expire(now)  # the dashboards' per-day counts outlive the runs (FLOWLINE_ROLLUP_DAYS)
    trimmed = trim_payloads(now)
    space = reclaim_space() if vacuum else "skipped"
    log.info("pruned %s runs, trimmed %s payloads, space: %s", sum(deleted.values()), trimmed, space)
    return {"deleted": deleted, "trimmed": trimmed, "space": space}


def maybe_prune(now=None) -> bool:
    """Called by the ticker: enqueue `prune_all` at most once an hour per process."""
    if not cache.add("flowline:prune", 1, 3600):
        return False
    from .tasks import _send

    _send("automations.retention.prune_all")
    return True



