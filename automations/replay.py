"""Replay, retry, cancel and auto-retry of runs: pure functions, no permission checks (views do those).

- `retry_failed(run)`: the SAME run goes back to queued; the engine skips its finished steps and
  resumes at the failed one (Zapier's "replay": the trigger and successful steps are not re-run).
  The failed step's row is kept (attempt counter reset, attempt log kept) so its history stays visible;
  it runs again with the same idempotency key.
- `replay_from_start(run, latest=...)`: a NEW run with the same trigger data, on the version the run
  used or on the flow's latest published version, linked to the original (`replay_of`).
- `cancel(run)`: queued or waiting runs only (a running step cannot be interrupted safely).
- Status changes go through `rollup.transition` so the dashboards' counts follow them.
- Auto-retry: `schedule_auto_retry` sets `Run.retry_at` after a failure; the ticker calls
  `due_auto_retries(now)` and `fire_auto_retry(run_id, now)`.
- Bulk: `create_bulk_job` fixes the set of run ids (up to FLOWLINE_REPLAY_BULK_MAX); `run_bulk_job`
  (a django-q2 task) works through it and records progress; it resumes where it stopped.
"""
from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import ReplayJob, Run, StepResult
from .rollup import transition

log = logging.getLogger("flowline.replay")
PROGRESS_EVERY = 25


class ReplayError(Exception):
    """The operation does not apply to this run (shown to the user as is)."""


def retry_failed(run: Run, *, auto: bool = False, now=None) -> bool:
    """Re-queue a failed run from its failed step. Returns False if the run was not failed (any more).
    `auto`: an auto-retry (counts in `auto_retries`); only fires if the retry is still due."""
    now = now or timezone.now()
    qs = Run.objects.filter(pk=run.pk, status=Run.FAILED)
    extra = {}
    if auto:
        qs = qs.filter(retry_at__lte=now)
        extra["auto_retries"] = F("auto_retries") + 1
    with transaction.atomic():
        won = transition(qs, status=Run.QUEUED, error_category="", error_message="", error_step="", finished_at=None,
                         started_at=None, lease_owner="", lease_until=None, due_at=None, retry_at=None, claims=0,
                         enqueued_at=now, **extra)
        if not won:
            return False
        # Not-done steps run again; attempts restart at 1 (the step's retry policy applies afresh).
        StepResult.objects.filter(run_id=run.pk).exclude(status__in=StepResult.DONE).update(
            status=StepResult.FAILED, attempts=0, due_at=None)
    return True


def replay_from_start(run: Run, *, latest: bool = False) -> Run:
    """Start a new run with `run`'s trigger data; on the flow's latest published version if `latest`."""
    from .engine import start_run

    flow = run.flow
    version = flow.published if latest else run.version
    if version is None:
        raise ReplayError("The flow has no published version; publish it before replaying on the latest version.")
    return start_run(flow, run.trigger_payload, source="replay", version=version, replay_of=run)


def cancel(run: Run) -> bool:
    """Cancel a queued or waiting run. Returns False if it is running or already over."""
    now = timezone.now()
    cancellable = Run.objects.filter(pk=run.pk, status__in=(Run.QUEUED, Run.WAITING))
    return bool(transition(cancellable, status=Run.CANCELLED, finished_at=now, due_at=None, retry_at=None,
                           lease_owner="", lease_until=None))


# ---------------------------------------------------------------------------------------------
# Auto-retry


def auto_retry_enabled(flow) -> bool:
    return bool((flow.options or {}).get("auto_retry"))


def next_retry_delay(attempt: int) -> float | None:
    """Seconds until auto-retry number `attempt` (0-based), with +-10% jitter; None when exhausted."""
    schedule = settings.FLOWLINE_AUTO_RETRY_SCHEDULE
    if attempt >= len(schedule):
        return None
    return schedule[attempt] * random.uniform(0.9, 1.1)


def schedule_auto_retry(run: Run, now=None) -> bool:
    """After a failure: set `retry_at` if the flow auto-retries and attempts remain. False = the last
    attempt failed (or auto-retry is off), so the failure should be reported."""
    if not auto_retry_enabled(run.flow):
        return False
    delay = next_retry_delay(run.auto_retries)
    if delay is None:
        return False
    now = now or timezone.now()
    return bool(Run.objects.filter(pk=run.pk, status=Run.FAILED).update(retry_at=now + timedelta(seconds=delay)))


def due_auto_retries(now=None, limit: int = 500) -> list[int]:
    """Ids of failed runs whose auto-retry is due (partial index `run_retry_due`)."""
    now = now or timezone.now()
    return list(Run.objects.filter(retry_at__lte=now, status=Run.FAILED).order_by("retry_at")
                .values_list("pk", flat=True)[:limit])


def fire_auto_retry(run_id: int, now=None) -> bool:
    """Retry one due run. A flow switched off (or auto-paused) drops its pending auto-retries."""
    run = Run.objects.select_related("flow").filter(pk=run_id).first()
    if run is None:
        return False
    if not run.flow.enabled:
        Run.objects.filter(pk=run_id).update(retry_at=None)
        return False
    return retry_failed(run, auto=True, now=now)


# ---------------------------------------------------------------------------------------------
# Bulk replay


def create_bulk_job(workspace, user, run_ids: list[int], mode: str, filters: dict) -> ReplayJob:
    ids = list(run_ids)[: settings.FLOWLINE_REPLAY_BULK_MAX]
    if mode not in dict(ReplayJob.MODES):
        raise ReplayError(f"Unknown replay mode {mode!r}")
    job = ReplayJob.objects.create(workspace=workspace, created_by=user, mode=mode, filters=filters,
                                   run_ids=ids, total=len(ids))
    from .tasks import enqueue_bulk_replay

    enqueue_bulk_replay(job.pk)
    return job


def _apply(job: ReplayJob, run: Run) -> str:
    """One run of a bulk job: 'done', 'skipped' (not applicable) or 'failed'."""
    try:
        if job.mode == ReplayJob.RETRY:
            return "done" if retry_failed(run) else "skipped"
        replay_from_start(run, latest=job.mode == ReplayJob.REPLAY_LATEST)
        return "done"
    except ReplayError:
        return "skipped"
    except Exception:
        log.exception("bulk replay %s: run %s", job.pk, run.pk)
        return "failed"


def run_bulk_job(job_id: int) -> ReplayJob | None:
    """Work through a bulk job from where it stopped, saving progress every PROGRESS_EVERY runs."""
    job = ReplayJob.objects.filter(pk=job_id).exclude(status=ReplayJob.FINISHED).first()
    if job is None:
        return None
    ReplayJob.objects.filter(pk=job.pk).update(status=ReplayJob.RUNNING)
    todo = job.run_ids[job.processed:]
    counts = {"done": 0, "failed": 0, "skipped": 0}

    def save(final=False):
        fields = {k: F(k) + v for k, v in counts.items()}
        if final:
            fields.update(status=ReplayJob.FINISHED, finished=timezone.now())
        ReplayJob.objects.filter(pk=job.pk).update(**fields)
        counts.update(done=0, failed=0, skipped=0)

    runs = Run.objects.in_workspace(job.workspace_id).select_related("flow__published", "version")
    for start in range(0, len(todo), PROGRESS_EVERY):
        chunk = todo[start:start + PROGRESS_EVERY]
        found = runs.in_bulk(chunk)
        for run_id in chunk:
            run = found.get(run_id)
            counts["skipped" if run is None else _apply(job, run)] += 1
        save()
    save(final=True)
    job.refresh_from_db()
    return job
