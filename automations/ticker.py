"""The ticker: once a second, hand due work to the queue.

- waiting runs whose time has come (retry backoff, Delay steps);
- runs whose worker lease expired (a killed worker): they resume at their first unfinished step;
(both go back to `queued`, where the workers' pumps take them: automations/pump.py)
- due triggers (schedule slots, polls), claimed with a conditional UPDATE so one cluster fires each.
Every cluster runs a ticker; the conditional updates make them safe to run side by side.
"""
from __future__ import annotations

import logging
import threading

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
    def __init__(self, interval: float | None = None):
        super().__init__(name="flowline-ticker", daemon=True)
        self.interval = interval or settings.TICK_SECONDS
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(self.interval):
            try:
                close_old_connections()
                tick()
            except Exception:
                log.exception("tick failed; trying again")

    def stop(self):
        self.stopped.set()
