"""`manage.py worker`: a django-q2 cluster whose worker processes each run a pump (queued runs) and
compete for the ticker (due runs, expired leases, schedules). Run one per host; SIGTERM/SIGINT stop it
gracefully: the pusher stops, each worker process finishes the run in hand, then the process exits."""
import os
import signal
import threading
import time
import uuid

from django.core.checks import Tags
from django.core.management.base import BaseCommand
from django.db import connections
from django_q.cluster import Sentinel

from automations import ticker


class StopFlag:
    """The sentinel's stop event, set from a signal handler. It takes no lock: a multiprocessing Event
    set inside a handler deadlocks when the signal interrupted a wait on that same Event, and a second
    signal arriving inside the first handler deadlocked on a threading.Event's lock."""

    def __init__(self):
        self.signals = []

    def set(self):
        self.signals.append(True)

    def is_set(self) -> bool:
        return bool(self.signals)

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.signals and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))
        return self.is_set()


class Supervisor(Sentinel):
    """django-q2's sentinel, run in this process: it spawns the pusher, the monitor and the worker
    processes and respawns any that dies. (django-q2's own `qcluster` forks one more process whose only
    job is to wait for the sentinel; this one has nothing else to do either, so it is the sentinel.)"""

    def start(self):
        # The sentinel ignores SIGINT and dies on SIGTERM (django-q2 runs it as a child); here both stop it
        # gracefully. The processes it forks get the signal dispositions django-q2 gives them.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: self.stop_event.set())
        os.register_at_fork(after_in_child=_child_signals)
        super().start()


def _child_signals():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class Command(BaseCommand):
    help = "Start a Flowline worker: a django-q2 cluster whose worker processes run queued runs and the ticker."
    # Every system check but the URL and template ones: those import every view and template tag, which
    # neither this process nor the processes it forks use (measured: 7 MiB more in each of them).
    requires_system_checks = [getattr(Tags, t) for t in vars(Tags) if not t.startswith("_") and t not in ("urls", "templates")]

    def add_arguments(self, parser):
        parser.add_argument("--no-ticker", action="store_true", help="run the cluster only")

    def handle(self, *args, **options):
        ticker.ENABLED = not options["no_ticker"]  # read by the worker processes, forked from this one
        connections.close_all()  # never share a database connection across fork
        Supervisor(StopFlag(), threading.Event(), uuid.uuid4())
