"""`manage.py worker`: a django-q2 cluster whose worker processes each run a pump (queued runs) and
compete for the ticker (due runs, expired leases, schedules). Run one per host; SIGTERM/SIGINT stop it
gracefully: the pusher stops, each worker process finishes the run in hand, then the process exits."""
import logging
import os
import signal
import threading
import time
import uuid

from django.core.checks import Tags
from django.core.management.base import BaseCommand
from django.db import connections
from django_q.cluster import Sentinel
from django_q.monitor import monitor
from django_q.pusher import pusher

from automations import ticker
from automations.forkgate import ForkGate, GatedBroker, GatedQueue

logger = logging.getLogger("flowline.worker")


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
    """django-q2's sentinel, run in this process: it forks the worker processes and respawns any that dies.
    (django-q2's own `qcluster` forks one more process whose only job is to wait for the sentinel; this one
    has nothing else to do either, so it is the sentinel.)

    The pusher (broker -> task queue) and the monitor (results -> database, broker acks) are threads of this
    process, not two more forked processes: they wait on the broker and on a queue, and a process of their
    own held a whole Django (47 MiB RSS, 15 MiB of it private, each). They keep django-q2's code and its
    supervision: the guard loop sees a dead thread as it sees a dead process and starts it again, and on
    shutdown the pusher stops first and the monitor last, as before. Forking beside threads is made safe by
    `automations.forkgate`."""

    def start(self):
        # The sentinel ignores SIGINT and dies on SIGTERM (django-q2 runs it as a child); here both stop it
        # gracefully. The processes it forks get the signal dispositions django-q2 gives them.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: self.stop_event.set())
        os.register_at_fork(after_in_child=_child_signals)
        self.gate = ForkGate()  # worker processes are forked while the pusher and monitor threads work
        threading.Thread(target=self._watch_task_queue, name="task-queue-watch", daemon=True).start()
        super().start()

    def _watch_task_queue(self, every=1.0, patience=5.0):
        """Free the task queue's reader lock when a dead worker process holds it.

        An idle worker process waits for its next task inside `task_queue.get()`, holding the queue's reader
        lock (a process-shared semaphore) for the whole wait. Killed there (SIGKILL, the OOM killer), it never
        releases it: every other worker blocks on that lock for ever and no django-q2 task (trigger, poll,
        replay) runs again, while the cluster looks healthy. A live worker holding the lock reads a task from the
        queue's pipe at once, so a task left in the pipe with the lock held for `patience` seconds means its
        holder is gone."""
        since = None
        while not self.stop_event.wait(every):
            if not self._reader_lock_stuck():
                since = None
            elif since is None:
                since = time.monotonic()
            elif time.monotonic() - since >= patience:
                self.task_queue._rlock.release()
                since = None
                logger.critical("the task queue's reader lock was held by a dead worker process; released it")

    def _reader_lock_stuck(self) -> bool:
        """A task waits in the queue's pipe and the reader lock is taken. (The pipe, not `qsize()`: a worker
        killed between reading a task and counting it leaves `qsize()` one too high for good.)"""
        try:
            if not self.task_queue._reader.poll(0):
                return False
        except (OSError, ValueError):  # closed on shutdown
            return False
        if self.task_queue._rlock.acquire(False):
            self.task_queue._rlock.release()
            return False
        return True

    def spawn_pusher(self):
        return self._thread("pusher", pusher, self.task_queue, self.event_out, GatedBroker(self.broker, self.gate))

    def spawn_monitor(self):
        results = GatedQueue(self.result_queue, self.gate)
        return self._thread("monitor", monitor, results, self.broker, after=results.release)

    @staticmethod
    def _thread(name, target, *args, after=None):
        def run():
            try:
                target(*args)
            finally:
                if after:
                    after()
                connections.close_all()  # the ones this thread opened

        thread = threading.Thread(target=run, name=f"{name}-{uuid.uuid4().hex[:8]}", daemon=True)
        thread.pid = os.getpid()  # the cluster's status (django_q.status.Stat) records it
        thread.start()
        return thread


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
