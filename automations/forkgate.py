"""Forking safely from a process that has threads: the worker command's sentinel.

`os.fork()` copies only the thread that calls it. A lock another thread held at that moment stays held in
the child for ever: SQLite's (its allocator's, its file locking's), the database driver's, the Redis
client's. The sentinel forks worker processes (at start and whenever one dies or is recycled) while its
pusher and monitor threads talk to the broker and the database, so those threads pass this gate for every
such call, and a fork (any `os.fork()` of the process: the hooks are registered with `os.register_at_fork`)
closes the gate, waits for the calls in progress to end, forks and opens it again.
"""
from __future__ import annotations

import os
import threading


class ForkGate:
    def __init__(self):
        self._reset()
        os.register_at_fork(before=self._close, after_in_parent=self._open, after_in_child=self._reset)

    def _reset(self):
        # In a child, a thread that was between `enter` and `leave` does not exist: start afresh.
        self._cond, self._inside, self._forking = threading.Condition(), 0, False

    def _close(self):
        with self._cond:
            self._forking = True
            self._cond.wait_for(lambda: self._inside == 0)

    def _open(self):
        with self._cond:
            self._forking = False
            self._cond.notify_all()

    def enter(self):
        with self._cond:
            self._cond.wait_for(lambda: not self._forking)
            self._inside += 1

    def leave(self):
        with self._cond:
            self._inside -= 1
            self._cond.notify_all()

    def call(self, fn, *args, **kwargs):
        self.enter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.leave()


class GatedBroker:
    """A django-q2 broker whose calls pass the gate (the pusher's: dequeue, fail)."""

    def __init__(self, broker, gate: ForkGate):
        self._broker, self._gate = broker, gate

    def __getattr__(self, name):
        value = getattr(self._broker, name)
        if not callable(value):
            return value
        return lambda *args, **kwargs: self._gate.call(value, *args, **kwargs)


class GatedQueue:
    """The monitor's result queue. The monitor handles a result (saves it, acknowledges it to the broker)
    between two `get`s, so it is inside the gate from one `get` to the next and outside only while it waits."""

    def __init__(self, queue, gate: ForkGate):
        self._queue, self._gate, self._inside = queue, gate, False

    def get(self):
        if self._inside:
            self._inside = False
            self._gate.leave()
        item = self._queue.get()
        self._gate.enter()
        self._inside = True
        return item

    def release(self):
        """The monitor has ended (or died): leave the gate if it was inside."""
        if self._inside:
            self._inside = False
            self._gate.leave()
