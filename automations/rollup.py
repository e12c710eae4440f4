"""The run rollup: finished runs counted per workspace local day, flow, status and error category
(`RunRollup`), so the dashboards never scan runs.

Rules (what keeps the rollup equal to a recount of the runs):
- A row counts the runs in a terminal status (succeeded, failed, halted, cancelled), keyed by the
  local day of `Run.created` in the workspace's time zone (the dashboards' days), the flow, the
  status, and the error category for failed runs ("" otherwise); `tasks` sums their `tasks_used`.
  Runs still in progress (queued, running, waiting, held) change status all the time and are not in
  the rollup: they are counted per day from the partial covering index `run_ws_live` (no table reads).
- Every status change of a run that enters or leaves a terminal status goes through
  `transition()`: the run's row read (locked), its conditional UPDATE and the rollup's increments
  (INSERT .. ON CONFLICT DO UPDATE, +1 for the new status, -1 for the old) commit in one transaction.
  Callers: the engine's `finish` (running -> succeeded/failed/halted), `replay.cancel`
  (queued/waiting -> cancelled) and `replay.retry_failed` (failed -> queued, so it leaves the
  rollup until it finishes again). Replay from the start makes a new run (counted when it finishes).
- Retention keeps the history: pruning deletes runs but not their counts, so the dashboard and this
  month's tasks still show days whose runs are gone. Rows older than FLOWLINE_ROLLUP_DAYS (400) go.
  Deleting a flow or a workspace deletes its rows with its runs.
- `rebuild()` (migration 0005 and `manage.py rollup_runs`) recounts from the runs every local day
  from the oldest run's day to today; older days (pruned runs) keep their counts. After changing a
  workspace's time zone, run `manage.py rollup_runs --workspace <slug>` to re-key the retained days.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Case, Count, Sum, Value, When
from django.utils import timezone

from . import fastsql
from .models import Run, RunRollup

# Runs in progress are not in the rollup: counted from the partial covering index `run_ws_live`, which
# SQLite only uses when the query has the index's condition as the same literal text (not parameters).
LIVE_SQL = "status IN ('queued', 'running', 'waiting', 'held')"
_ROW = ("workspace_id", "flow_id", "created", "status", "error_category", "tasks_used", "workspace__timezone")


def zone(name) -> ZoneInfo:
    return ZoneInfo(name or "UTC")


def day_start(day: date, tz) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def today(tz, now=None) -> date:
    return (now or timezone.now()).astimezone(tz).date()


def _key(row: dict):
    category = row["error_category"] if row["status"] == Run.FAILED else ""
    day = row["created"].astimezone(zone(row["workspace__timezone"])).date()
    return row["workspace_id"], day, row["flow_id"], row["status"], category


# ---------------------------------------------------------------------------------------------
# Writing


def transition(runs, *, status: str, **fields) -> int:
    """UPDATE the one run selected by `runs` to `status` (plus `fields`) and move its count in the
    rollup, in one transaction. Returns the number of runs updated (0 when the run was not in the
    state `runs` selects, or changed meanwhile). `tasks_used`, if given, must be a plain int."""
    with transaction.atomic(using=runs.db):
        # The row stays as read until the UPDATE: locked on PostgreSQL; on SQLite the (IMMEDIATE)
        # transaction already holds the write lock. So the -1 below removes exactly what was counted.
        before = runs.select_for_update(of=("self",)).values(*_ROW).first()
        if before is None:
            return 0
        updated = runs.update(status=status, **fields)
        if updated:
            after = {**before, "status": status,
                     **{k: fields[k] for k in ("error_category", "tasks_used") if k in fields}}
            deltas = defaultdict(lambda: [0, 0])
            for row, sign in ((before, -1), (after, 1)):
                if row["status"] in Run.TERMINAL:
                    deltas[_key(row)][0] += sign
                    deltas[_key(row)][1] += sign * row["tasks_used"]
            _add(deltas, runs.db)
        return updated


def finish(where: dict, run, *, status: str, **fields) -> int:
    """`transition()` for a run this worker owns (`where`: its id, status RUNNING and our lease, a status
    the rollup never counts): the conditional UPDATE itself proves the old status, and the key comes
    from the run in hand (`run.workspace_timezone` or `run.workspace` loaded with it), so no row is read. One transaction."""
    if status == Run.FAILED and "error_category" not in fields:
        return transition(Run.objects.filter(**where), status=status, **fields)
    alias = router.db_for_write(Run)
    with transaction.atomic(using=alias, savepoint=False):  # inside engine.finish's transaction
        updated = fastsql.update_where(Run, where, {"status": status, **fields})
        if updated and status in Run.TERMINAL:
            row = {"workspace_id": run.workspace_id, "flow_id": run.flow_id, "created": run.created, "status": status,
                   "error_category": fields.get("error_category", ""), "tasks_used": fields.get("tasks_used", 0),
                   "workspace__timezone": getattr(run, "workspace_timezone", None) or run.workspace.timezone}
            _add({_key(row): (1, row["tasks_used"])}, alias)
        return updated


def _add(deltas: dict, alias: str) -> None:
    """deltas: {(workspace_id, day, flow_id, status, category): (runs, tasks)}; zeros are skipped."""
    table = RunRollup._meta.db_table
    conn = connections[alias]
    sql = (f"INSERT INTO {table} (workspace_id, day, flow_id, status, error_category, runs, tasks) "
           f"VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (workspace_id, day, flow_id, status, error_category) "
           f"DO UPDATE SET runs = {table}.runs + excluded.runs, tasks = {table}.tasks + excluded.tasks")
    for (ws, day, flow, status, category), (n, tasks) in deltas.items():
        if n or tasks:
            fastsql.execute(conn, sql, [ws, conn.ops.adapt_datefield_value(day), flow, status, category, n, tasks])


def expire(now=None) -> int:
    """Delete rows older than FLOWLINE_ROLLUP_DAYS (called by retention). Returns the rows deleted."""
    cutoff = (now or timezone.now()).date() - timedelta(days=settings.FLOWLINE_ROLLUP_DAYS)
    return RunRollup.objects.filter(day__lt=cutoff).delete()[0]


def rebuild(ws, run_model=Run, rollup_model=RunRollup, now=None) -> int:
    """Recount `ws`'s rollup from its runs, one local day per transaction, from the oldest run's day
    to today. Returns the number of rows written. Exact while runs finish meanwhile: on SQLite the
    transaction holds the write lock; on PostgreSQL the table is locked against concurrent increments."""
    tz = zone(ws.timezone)
    oldest = run_model.objects.filter(workspace_id=ws.pk).order_by("created").values_list("created", flat=True).first()
    if oldest is None:
        return 0
    alias = router.db_for_write(rollup_model)
    day, last, written = oldest.astimezone(tz).date(), today(tz, now), 0
    while day <= last:
        with transaction.atomic(using=alias):
            if connections[alias].vendor == "postgresql":
                with connections[alias].cursor() as cursor:
                    cursor.execute(f"LOCK TABLE {rollup_model._meta.db_table} IN EXCLUSIVE MODE")
            rollup_model.objects.filter(workspace_id=ws.pk, day=day).delete()
            rows = (run_model.objects.filter(workspace_id=ws.pk, status__in=Run.TERMINAL,
                                             created__gte=day_start(day, tz), created__lt=day_start(day + timedelta(days=1), tz))
                    .values("flow_id", "status", "error_category").annotate(n=Count("id"), t=Sum("tasks_used")).order_by())
            merged = defaultdict(lambda: [0, 0])
            for r in rows:
                key = (r["flow_id"], r["status"], r["error_category"] if r["status"] == Run.FAILED else "")
                merged[key][0] += r["n"]
                merged[key][1] += r["t"] or 0
            rollup_model.objects.bulk_create([
                rollup_model(workspace_id=ws.pk, day=day, flow_id=flow, status=status, error_category=category,
                             runs=n, tasks=t) for (flow, status, category), (n, t) in merged.items()])
            written += len(merged)
        day += timedelta(days=1)
    return written


# ---------------------------------------------------------------------------------------------
# Reading (the workspace and agency dashboards)


def day_counts(ws, first: date, last: date) -> dict:
    """{day: (Counter{status: runs}, tasks)} for the workspace's local days first..last, every
    status: terminal ones from the rollup, runs in progress counted live."""
    out = defaultdict(lambda: (Counter(), [0]))
    rows = (RunRollup.objects.filter(workspace=ws, day__gte=first, day__lte=last).values("day", "status")
            .annotate(n=Sum("runs"), t=Sum("tasks")).order_by())
    for r in rows:
        out[r["day"]][0][r["status"]] += r["n"]
        out[r["day"]][1][0] += r["t"]
    tz = zone(ws.timezone)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    ends = [day_start(d + timedelta(days=1), tz) for d in days]
    which_day = Case(*[When(created__lt=end, then=Value(i)) for i, end in enumerate(ends)])
    live = (Run.objects.filter(workspace=ws, created__gte=day_start(first, tz), created__lt=ends[-1]).extra(where=[LIVE_SQL])
            .annotate(i=which_day).values("i", "status").annotate(n=Count("id"), t=Sum("tasks_used")).order_by())
    for r in live:
        out[days[r["i"]]][0][r["status"]] += r["n"]
        out[days[r["i"]]][1][0] += r["t"] or 0
    return {day: (counts, tasks[0]) for day, (counts, tasks) in out.items()}


def failures(ws, first: date, last: date) -> list[dict]:
    """Failed runs of the workspace's local days first..last: [{flow_id, error_category, n}]."""
    return list(RunRollup.objects.filter(workspace=ws, status=Run.FAILED, day__gte=first, day__lte=last)
                .values("flow_id", "error_category").annotate(n=Sum("runs")).order_by())
