"""The ticker: once a second, hand due work to the queue.

- waiting runs whose time has come (retry backoff, Delay steps);
- runs whose worker lease expired (a killed worker): they resume at their first unfinished step;
(both go back to `queued`, where the workers' pumps take them: automations/pump.py)
- due triggers (schedule slots, polls), claimed with a conditional UPDATE so one cluster fires each.
One ticker runs per host and cluster name: every worker process starts one, and the one that holds a
lock file ticks (`start_in_worker`). The conditional updates make tickers of other hosts safe side by side.
"""
from __future__ import annotations

import fcntl
import logging
import threading
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone

from . import replay, retention, tasks
from .models import Run, TriggerState
from .triggers import TRIGGER_LEASE

log = logging.getLogger("flowline.ticker")
BATCH = 500


def _requeue(qs, **extra) -> list[int]:
    """Move each candidate to queued with a conditional update; return the ids this ticker won."""
    won = []
    now = timezone.now()
    for run_id in list(qs.values_list("pk", flat=True)[:BATCH]):
        if qs.filter(pk=run_id).update(status=Run.QUEUED, due_at=None, lease_owner="", lease_until=None,
                                       enqueued_at=now, **extra):
            won.append(run_id)
    return won


def tick(now=None) -> dict:
    now = now or timezone.now()
    due = _requeue(Run.objects.filter(status=Run.WAITING, due_at__lte=now))
    expired = _requeue(Run.objects.filter(status=Run.RUNNING, lease_until__lt=now))
    fired = []
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    for state in TriggerState.objects.filter(next_at__lte=now, flow__enabled=True).filter(free).values("pk", "flow_id")[:BATCH]:
        if TriggerState.objects.filter(pk=state["pk"], next_at__lte=now).filter(free).update(lease_until=now + TRIGGER_LEASE):
            tasks.enqueue_trigger(state["flow_id"])
            fired.append(state["flow_id"])
    auto_retried = [rid for rid in replay.due_auto_retries(now) if replay.fire_auto_retry(rid, now)]
    retention.maybe_prune(now)  # at most hourly; queues the pruning job
    if expired:
        log.warning("re-queued %d runs whose worker lease expired", len(expired))
    return {"due": due, "expired": expired, "triggers": fired, "auto_retried": auto_retried}


class Ticker(threading.Thread):
    """Ticks every `interval` seconds. With a `lock_path`, it first waits to hold that file's lock: every
    worker process of a host starts one, and the one holding the lock ticks (the kernel releases it when
    that process exits or dies, and another takes over within an interval)."""

    def __init__(self, interval: float | None = None, lock_path: Path | None = None):
        super().__init__(name="flowline-ticker", daemon=True)
        self.interval = interval or settings.TICK_SECONDS
        self.lock_path = lock_path
        self.stopped = threading.Event()

    def run(self):
        lock = self.lock_path and self._wait_for_lock()
        try:
            while not self.stopped.wait(self.interval):
                try:
                    close_old_connections()
                    tick()
                except Exception:
                    log.exception("tick failed; trying again")
        finally:
            lock and lock.close()

    def _wait_for_lock(self):
        f = open(self.lock_path, "a")  # not inherited by child processes (close-on-exec, and workers never fork)
        while not self.stopped.is_set():
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return f
            except BlockingIOError:
                self.stopped.wait(self.interval)
            except OSError:  # no locks on this file system: tick anyway (tickers are safe side by side)
                log.warning("cannot lock %s; this process ticks without it", self.lock_path)
                return f
        return f

    def stop(self):
        self.stopped.set()


ENABLED = True  # `manage.py worker --no-ticker` clears it before forking the worker processes


def start_in_worker(sender=None, proc_name=None, **kwargs):
    """django-q2's `post_spawn` signal (sent in each new worker process): compete for this host's ticker."""
    if ENABLED:
        Ticker(lock_path=settings.DATA_DIR / f"ticker-{settings.Q_CLUSTER['name']}.lock").start()
