"""The run pump: every django-q2 worker process also takes queued runs straight from the runs table.

Runs are the hot path. The intake stores a run as `queued` and answers; a pump thread in each
django-q2 worker process claims the oldest queued runs with one conditional UPDATE ... RETURNING
(`engine.claim_queued`; on PostgreSQL `FOR UPDATE SKIP LOCKED`, so pumps never wait on each other)
and executes them. The runs table is the queue: there is nothing between the intake and a worker
that could lose a run, and no broker round trip per run (profiled: a broker insert, a lock, an ack
and two process hops per run were a third of the worker's CPU). A run waiting for a retry or a
delay, or whose worker died, is set back to `queued` by the ticker and taken again here.

django-q2 keeps the rest: triggers and polls, bulk replays, retention, and it supervises the
processes: a killed worker process is respawned with a new pump, and on shutdown or recycling
the pump finishes the run in hand before the process exits (the thread is not a daemon, and it
stops once the worker's main thread has ended).
"""
from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections

from . import engine
from .models import Run

log = logging.getLogger("flowline.pump")
HOLD_SECONDS = 1.0  # claimed runs not started within this are handed back (a slow run must not hold others)


class Pump(threading.Thread):
    def __init__(self, poll: float | None = None, batch: int | None = None):
        super().__init__(name="flowline-pump", daemon=False)
        self.poll = settings.PUMP_POLL_SECONDS if poll is None else poll
        self.batch = batch or settings.PUMP_BATCH
        self.stopped = threading.Event()

    def alive(self) -> bool:
        return not self.stopped.is_set() and threading.main_thread().is_alive()

    def run(self):
        try:
            busy = True
            while self.alive():
                # Idle, a read looks for work first: a claim is a write, and SQLite has one writer at a time.
                try:
                    busy = (busy or Run.objects.filter(status=Run.QUEUED).exists()) and self.pump_once() > 0
                except DatabaseError:  # the database is away: try again after a pause
                    log.exception("could not claim queued runs; trying again")
                    close_old_connections()
                    busy = False
                    self.stopped.wait(1)
                if not busy:
                    close_old_connections()  # idle: apply CONN_MAX_AGE and health checks as a request would
                    self.stopped.wait(self.poll)
        finally:
            connections.close_all()

    def pump_once(self) -> int:
        """Claim and execute one batch; returns how many runs were claimed (0: nothing queued)."""
        runs = engine.claim_queued(self.batch)
        claimed = time.monotonic()
        for i, run in enumerate(runs):
            # Shutting down, or a slow run held the batch up: hand the rest back for another pump.
            if not self.alive() or (i and time.monotonic() - claimed > HOLD_SECONDS):
                engine.release(runs[i:])
                break
            try:
                engine.execute_claimed(run)
            except Exception:  # e.g. the database went away mid-run: the lease expires and the ticker re-queues it
                log.exception("run %s: the pump could not finish it; it is retried when its lease expires", run.pk)
                close_old_connections()
        return len(runs)

    def stop(self):
        self.stopped.set()


def start_in_worker(sender=None, proc_name=None, **kwargs):
    """django-q2's `post_spawn` signal (sent in each new worker process): start its pump."""
    if settings.PUMP_ENABLED:
        connections.close_all()  # never use a connection inherited through fork
        Pump().start()
