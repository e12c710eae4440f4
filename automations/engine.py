"""The run engine: claim a run, execute its steps in order, record every step.

The database holds run state; the queue only carries run ids. A worker claims a run with a
conditional UPDATE and a lease, renews the lease before each step, and gives it up when the run
ends or parks (waits for a retry or a delay). A run whose lease expired is re-queued by the ticker
and resumes at its first unfinished step: finished steps are never repeated.
"""
from __future__ import annotations

import hashlib
import logging
import os
import random
import socket
import time
import uuid
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.module_loading import import_string

from connectors import errors, registry
from connectors.context import Result, StepContext

from . import fastsql, mapping
from .models import Connection, FlowVersion, Run, StepResult, Workspace
from .redaction import redact, secret_values
from . import rollup
from .summary import summarize

log = logging.getLogger("flowline.engine")
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
MAX_CLAIMS = 12
FLOW_CONTROL_APPS = {"flow", "webhook", "schedule", "manual"}
RAW_INPUT_KEYS = {"conditions", "branches"}  # evaluated by the step itself, not pre-rendered
# What an attempt's outcome changes on its already-saved StepResult (the input is not written twice).
OUTCOME_FIELDS = ["status", "due_at", "finished_at", "duration_ms", "attempt_log", "output", "request", "response",
                  "error_category", "error_message", "counts_as_task", "possible_duplicate"]


class LeaseLost(Exception):
    """Another worker owns this run now; stop without writing."""


class Park(Exception):
    def __init__(self, due_at):
        self.due_at = due_at


class StepFailed(Exception):
    def __init__(self, path, error: errors.StepError):
        self.path, self.error = path, error


HALTED = "halted"


def _refresh_worker_id():
    global WORKER_ID
    WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


os.register_at_fork(after_in_child=_refresh_worker_id)


# ---------------------------------------------------------------------------------------------
# Starting runs


def start_run(flow, payload, *, source="manual", version=None, dedupe_key=None, replay_of=None):
    """Create a queued run of `flow` (its published version unless given); a worker's pump takes it
    from the runs table once the transaction commits (automations/pump.py). Returns the Run."""
    return fastsql.insert(Run(**_run_values(flow, payload, source, version.pk if version else None, dedupe_key),
                              replay_of=replay_of))


def queue_run(flow, payload, *, source: str, dedupe_key=None) -> int:
    """`start_run(...).pk` without building the Run (the intake's and the poller's path). Returns the run's id."""
    return fastsql.insert_row(Run, **_run_values(flow, payload, source, None, dedupe_key))


def _run_values(flow, payload, source, version_id, dedupe_key) -> dict:
    version_id = version_id or flow.published_id
    if version_id is None:
        raise ValueError(f"Flow {flow.pk} has no published version")
    return dict(workspace_id=flow.workspace_id, flow_id=flow.pk, version_id=version_id, source=source,
                trigger_payload=payload, summary=summarize(payload), dedupe_key=dedupe_key, enqueued_at=timezone.now())


# ---------------------------------------------------------------------------------------------
# Claiming and finishing


def claim(run_id) -> Run | None:
    now = timezone.now()
    claimable = Q(status=Run.QUEUED) | Q(status=Run.RUNNING, lease_until__lt=now) | Q(status=Run.WAITING, due_at__lte=now)
    claimed = Run.objects.filter(pk=run_id).filter(claimable).update(
        status=Run.RUNNING, lease_owner=WORKER_ID, lease_until=now + timedelta(seconds=settings.RUN_LEASE_SECONDS),
        claims=F("claims") + 1, due_at=None, started_at=Coalesce("started_at", now),
    )
    if not claimed:
        return None
    run = Run.objects.select_related("version", "workspace").get(pk=run_id)
    run._lease_renewed_at = now
    return run


def claim_queued(limit: int = 1) -> list[Run]:
    """Claim up to `limit` queued runs, longest queued first (`enqueued_at`: a run the ticker re-queues
    after a retry wait goes behind the runs that arrived meanwhile), for this worker: one conditional UPDATE ...
    RETURNING (the only write), then one read of the runs with what executing them needs (the
    workspace's time zone for the dashboards' rollup, whether steps were recorded before). On
    PostgreSQL the rows are picked FOR UPDATE SKIP LOCKED, so concurrent pumps take different runs
    instead of waiting on each other; SQLite has one writer at a time. Both read the partial index
    of queued runs (`run_queued`), so a claim costs the same with one run queued or a million."""
    now = timezone.now()
    conn = connections[router.db_for_write(Run)]
    table = Run._meta.db_table
    if conn.vendor == "postgresql":
        pick = f"SELECT id FROM {table} WHERE status = 'queued' ORDER BY enqueued_at, id LIMIT %s FOR UPDATE SKIP LOCKED"
    else:
        pick = f"SELECT id FROM {table} INDEXED BY run_queued WHERE status = 'queued' ORDER BY enqueued_at, id LIMIT %s"
    claim_sql = (f"UPDATE {table} SET status = 'running', lease_owner = %s, lease_until = %s, claims = claims + 1, "
                 f"due_at = NULL, started_at = COALESCE(started_at, %s) WHERE id IN ({pick}) RETURNING id")
    lease_until = now + timedelta(seconds=settings.RUN_LEASE_SECONDS)
    ids = sorted(row[0] for row in fastsql.execute(conn, claim_sql, [
        WORKER_ID, conn.ops.adapt_datetimefield_value(lease_until), conn.ops.adapt_datetimefield_value(now), limit],
        fetch="all"))
    if not ids:
        return []
    load_sql = (f"SELECT r.*, w.timezone AS workspace_timezone, EXISTS (SELECT 1 FROM {StepResult._meta.db_table} s "
                f"WHERE s.run_id = r.id) AS has_steps FROM {table} r JOIN {Workspace._meta.db_table} w "
                f"ON w.id = r.workspace_id WHERE r.id IN ({', '.join(['%s'] * len(ids))}) ORDER BY r.id")
    runs = list(Run.objects.using(conn.alias).raw(load_sql, ids))
    for run in runs:
        run._lease_renewed_at = now
    return runs


def definition(version_id: int) -> dict:
    """A flow version's definition (callers must not change it). Versions are immutable and a
    committed id is never reused, so a definition read outside a transaction is kept for the life
    of the process; inside one (which could still roll the version back) it is read fresh."""
    if connections[router.db_for_read(FlowVersion)].in_atomic_block:
        return _read_definition(version_id)
    return _cached_definition(version_id)


def _read_definition(version_id: int) -> dict:
    return FlowVersion.objects.values_list("definition", flat=True).get(pk=version_id) or {}


_cached_definition = lru_cache(maxsize=512)(_read_definition)


def release(runs) -> None:
    """Hand claimed runs that were not started back to the queue (a pump shutting down)."""
    for run in runs:
        _owned(run).update(status=Run.QUEUED, lease_owner="", lease_until=None, claims=F("claims") - 1)


def _owned_where(run) -> dict:
    return {"id": run.pk, "status": Run.RUNNING, "lease_owner": WORKER_ID}


def _owned(run):
    return Run.objects.filter(**_owned_where(run))


def renew_lease(run):
    """Extend the lease before a step; skipped while at least two thirds of it are left (one write
    less per step on the hot path). Raises LeaseLost when another worker owns the run."""
    now = timezone.now()
    lease = timedelta(seconds=settings.RUN_LEASE_SECONDS)
    renewed = getattr(run, "_lease_renewed_at", None)
    if renewed and now - renewed < lease / 3:
        return
    if not fastsql.update_where(Run, _owned_where(run), {"lease_until": now + lease}):
        raise LeaseLost()
    run._lease_renewed_at = now


def finish(run, status, *, error: errors.StepError | None = None, error_step="", tasks_used=0, outcomes=()):
    """End a run this worker owns; `outcomes` (finished steps not yet saved) are written in the same
    transaction as the run's UPDATE and the dashboards' rollup."""
    fields = dict(status=status, finished_at=timezone.now(), lease_owner="", lease_until=None, due_at=None,
                  tasks_used=tasks_used)
    if error:
        fields.update(error_category=error.category, error_message=error.message[:2000], error_step=error_step)
    if status == Run.SUCCEEDED:
        fields.update(error_category="", error_message="", error_step="")
    with transaction.atomic():
        _save_outcomes(outcomes)
        if not rollup.finish(_owned_where(run), run, **fields):
            return
    try:  # runs history: auto-retry, alerts, auto-pause (automations/alerts.py); never breaks a run
        from .alerts import on_run_finished; on_run_finished(run.pk, status)  # noqa: E702
    except Exception:
        log.exception("run %s: on_run_finished failed", run.pk)


def park(run, due_at, outcomes=()):
    with transaction.atomic():
        _save_outcomes(outcomes)
        fastsql.update_where(Run, _owned_where(run), {"status": Run.WAITING, "due_at": due_at, "lease_owner": "",
                                                      "lease_until": None})


def _save_outcomes(results) -> None:
    for res in results:
        fastsql.update(res, OUTCOME_FIELDS)
    if isinstance(results, list):
        results.clear()


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter; an upstream's Retry-After is honoured (plus up to 10%)."""
    if retry_after is not None:
        return retry_after * (1 + random.random() * 0.1)
    base = settings.RETRY_BASE_SECONDS * (2 ** max(0, attempt - 1))
    return min(settings.RETRY_MAX_SECONDS, base) * random.uniform(0.8, 1.2)


# ---------------------------------------------------------------------------------------------
# Executing


def execute_run(run_id) -> str | None:
    """Claim and run (or resume) one run by id. Returns its status after this pass, or None if
    another worker has it."""
    run = claim(run_id)
    return None if run is None else execute_claimed(run)


def execute_claimed(run) -> str | None:
    """Run (or resume) a run this worker has claimed. Returns its status after this pass."""
    from .middleware import request_id

    token = request_id.set(f"run-{run.pk}")  # issue 10: log lines while running carry the run id
    try:
        if run.claims > MAX_CLAIMS:
            err = errors.StepError(errors.CRASHED, f"The run was interrupted {run.claims - 1} times; giving up.")
            finish(run, Run.FAILED, error=err)
            return Run.FAILED
        return RunExecution(run).execute()
    except LeaseLost:
        log.warning("run %s: lease lost, another worker continues it", run.pk)
        return None
    finally:
        request_id.reset(token)


class RunExecution:
    def __init__(self, run: Run):
        self.run = run
        self.definition = definition(run.version_id)
        self.results = {s.path: s for s in run.steps.all()} if getattr(run, "has_steps", True) else {}
        self.data = {"trigger": run.trigger_payload, "steps": {}}
        self.position = 0
        # Finished steps whose outcome is written with the run's next write (the next step's
        # "running" marker, the finish, a park): one transaction less per step. It is always written
        # before the next side effect, so a crash in between is the same as one during the step.
        self.unsaved: list[StepResult] = []
        self.connections = self._connections()
        self.secrets = secret_values(c.secret_values() for c in self.connections.values())

    def _connections(self) -> dict:
        ids = set()

        def collect(steps):
            for s in steps or []:
                if s.get("connection"):
                    ids.add(s["connection"])
                collect(s.get("steps"))
                for b in s.get("branches") or []:
                    collect(b.get("steps"))

        collect([self.definition.get("trigger") or {}] + list(self.definition.get("steps") or []))
        if not ids:
            return {}
        qs = Connection.objects.in_workspace(self.run.workspace_id).filter(pk__in=ids)
        return {c.pk: c for c in qs}

    def execute(self) -> str:
        run, unsaved = self.run, self.unsaved
        try:
            self.walk(self.definition.get("steps") or [], "", self.data, top=True)
        except Park as p:
            park(run, p.due_at, unsaved)
            return Run.WAITING
        except StepFailed as f:
            finish(run, Run.FAILED, error=f.error, error_step=f.path, tasks_used=self.tasks_used(), outcomes=unsaved)
            return Run.FAILED
        except _Halt:
            finish(run, Run.HALTED, tasks_used=self.tasks_used(), outcomes=unsaved)
            return Run.HALTED
        except LeaseLost:
            self._write()  # what this worker did is recorded; the new owner continues after it
            raise
        finish(run, Run.SUCCEEDED, tasks_used=self.tasks_used(), outcomes=unsaved)
        return Run.SUCCEEDED

    def _write(self, save=None) -> None:
        """`save()` together with the outcomes not yet written: one transaction."""
        if not self.unsaved:
            save and save()
            return
        with transaction.atomic():
            _save_outcomes(self.unsaved)
            save and save()

    def tasks_used(self) -> int:
        return sum(1 for r in self.results.values() if r.status == StepResult.SUCCEEDED and r.counts_as_task)

    # Walking the tree: a halt inside a branch or loop iteration ends only that branch/iteration.
    def walk(self, steps, prefix, data, top=False):
        for step in steps:
            if step.get("disabled"):
                continue
            path = f"{prefix}{step['id']}"
            res = self.run_step(step, path, data)
            if res.status == StepResult.HALTED:
                if top:
                    raise _Halt()
                return
            output = res.output
            data["steps"][step["id"]] = output
            if step.get("key"):
                data["steps"][step["key"]] = output
            if step.get("operation") == "flow.paths":
                branches = step.get("branches") or []
                for index in (output or {}).get("branches", []):
                    if index < len(branches):
                        self.walk(branches[index].get("steps") or [], f"{path}/b{index}/", data)
            elif step.get("operation") == "flow.loop":
                items = (output or {}).get("items") or []
                for index, item in enumerate(items):
                    child = {**data, "steps": dict(data["steps"]),
                             "loop": {"item": item, "index": index, "count": len(items)}}
                    self.walk(step.get("steps") or [], f"{path}[{index}]/", child)

    def run_step(self, step, path, data) -> StepResult:
        self.position += 1
        res = self.results.get(path)
        if res and res.status in StepResult.DONE:
            return res
        now = timezone.now()
        if res and res.status == StepResult.WAITING:
            if res.due_at and res.due_at > now:
                raise Park(res.due_at)
            res.status, res.finished_at = StepResult.SUCCEEDED, now
            self._write(lambda: fastsql.update(res, ["status", "finished_at"]))
            return res
        if res and res.status == StepResult.RETRYING and res.due_at and res.due_at > now:
            raise Park(res.due_at)
        renew_lease(self.run)
        return self.execute_step(step, path, data, res)

    def execute_step(self, step, path, data, res: StepResult | None) -> StepResult:
        run = self.run
        key = step.get("operation", "")
        interrupted = res is not None and res.status == StepResult.RUNNING
        if res is None:
            res = StepResult(run=run, workspace_id=run.workspace_id, path=path, step_id=step["id"],
                             operation=key, label=step.get("name", ""),
                             idempotency_key=hashlib.sha256(f"{run.pk}:{path}".encode()).hexdigest()[:32])
            self.results[path] = res
        res.position = self.position
        res.status, res.started_at, res.due_at = StepResult.RUNNING, timezone.now(), None
        res.attempts += 1
        max_attempts = int((step.get("retry") or {}).get("max_attempts") or settings.STEP_MAX_ATTEMPTS)
        try:
            op = registry.get_operation(key)
        except LookupError:
            return self._fail(res, errors.StepError(errors.VALIDATION, f"Unknown operation {key!r}"))
        if interrupted:
            # The previous worker died during this step: its side effect may have happened.
            res.possible_duplicate = not (op.idempotent or (op.handler is None and op.method == "GET"))
            run.possible_duplicate = run.possible_duplicate or res.possible_duplicate
            if res.possible_duplicate:
                Run.objects.filter(pk=run.pk).update(possible_duplicate=True)
            if res.attempts > max_attempts:
                return self._fail(res, errors.StepError(errors.CRASHED, "The worker stopped during this step too many times."))
        raw = step.get("inputs") or {}
        try:
            mapped = {k: (v if k in RAW_INPUT_KEYS else mapping.render_value(v, data)) for k, v in raw.items()}
        except mapping.MappingError as exc:
            return self._fail(res, errors.StepError(errors.MAPPING, str(exc)))
        if key == "flow.paths":
            mapped["branches"] = [{"conditions": b.get("conditions") or {}} for b in step.get("branches") or []]
        res.input = redact(mapped, self.secrets)
        self._write(lambda: fastsql.save(res))  # durable "running" marker before any side effect
        connection = self.connections.get(step.get("connection")) if step.get("connection") else None
        ctx = StepContext(inputs=mapped, credentials=connection, idempotency_key=res.idempotency_key, data=data,
                          run_id=run.pk, workspace_id=run.workspace_id)
        started = time.monotonic()
        try:
            result = dispatch(op, ctx)
        except errors.StepError as exc:
            return self._error(res, exc, started, max_attempts)
        except mapping.MappingError as exc:
            return self._error(res, errors.StepError(errors.MAPPING, str(exc)), started, max_attempts)
        except Exception as exc:  # a bug or an unexpected library error: record it, don't crash the worker
            log.exception("run %s step %s crashed", run.pk, path)
            return self._error(res, errors.StepError(errors.CRASHED, f"Internal error ({type(exc).__name__})", retryable=False), started, max_attempts)
        return self._succeed(res, op, result, started)

    def _log_attempt(self, res, started, status, error=None):
        res.duration_ms = int((time.monotonic() - started) * 1000)
        res.finished_at = timezone.now()
        res.attempt_log = (res.attempt_log or []) + [{
            "attempt": res.attempts, "started": res.started_at.isoformat(), "ms": res.duration_ms,
            "status": status, **({"error": f"{error.category}: {redact(error.message, self.secrets)}"} if error else {}),
        }]

    def _succeed(self, res, op, result: Result, started) -> StepResult:
        self._log_attempt(res, started, "succeeded")
        res.output = redact(result.output, self.secrets)
        res.request = redact(result.request, self.secrets) if result.request else None
        res.response = redact(result.response, self.secrets) if result.response else None
        res.error_category = res.error_message = ""
        res.counts_as_task = op.app not in FLOW_CONTROL_APPS
        if result.halt:
            res.status, res.error_message = StepResult.HALTED, result.halt
        elif result.wait_until and result.wait_until > timezone.now():
            res.status, res.due_at = StepResult.WAITING, result.wait_until
        else:
            res.status = StepResult.SUCCEEDED
        self.unsaved.append(res)  # written with the run's next write
        if res.status == StepResult.WAITING:
            raise Park(res.due_at)
        return res

    def _error(self, res, exc: errors.StepError, started, max_attempts) -> StepResult:
        self._log_attempt(res, started, "failed", exc)
        res.request = redact(exc.request, self.secrets) if exc.request else res.request
        res.response = redact(exc.response, self.secrets) if exc.response else res.response
        if exc.possible_duplicate:
            res.possible_duplicate = True
            Run.objects.filter(pk=self.run.pk).update(possible_duplicate=True)
        if exc.retryable and res.attempts < max_attempts:
            due = timezone.now() + timedelta(seconds=backoff_seconds(res.attempts, exc.retry_after))
            res.status, res.due_at = StepResult.RETRYING, due
            res.error_category = exc.category
            res.error_message = redact(f"{exc.message} (attempt {res.attempts} of {max_attempts}; retrying at {due:%H:%M:%S} UTC)", self.secrets)
            self.unsaved.append(res)  # written with the park
            raise Park(due)
        return self._fail(res, exc)

    def _fail(self, res, exc: errors.StepError):
        exc.message = redact(exc.message, self.secrets)
        res.status, res.error_category, res.error_message = StepResult.FAILED, exc.category, exc.message
        res.finished_at = res.finished_at or timezone.now()
        self._write(lambda: fastsql.save(res))
        raise StepFailed(res.path, exc)


class _Halt(Exception):
    pass


def dispatch(op, ctx: StepContext) -> Result:
    """Run one operation: a Python handler (built-in apps) or the declarative HTTP executor."""
    if op.handler:
        return import_string(op.handler)(op, ctx)
    from connectors.executor import execute

    return execute(op, ctx)
