"""Group commit: the webhook writes of concurrent request threads in one process share a transaction.

A webhook's write is small (its run and its delivery, two rows); most of its cost is the transaction
around it. On SQLite that is taking the single write lock, which a waiting connection polls with
growing sleeps (1, 2, 5, 10 ms ...) while another holds it, and the commit; on PostgreSQL the commit's
WAL flush. So threads that arrive while this process is writing queue their write instead of racing
for the lock. When the transaction in progress ends, one waiting thread (the leader) runs every
queued write in one transaction and commits. Each caller returns only after the commit that holds
its write: an answer still means stored, nothing is bought with durability.

If the shared transaction fails because of one write (a duplicate delivery hits its unique
constraint, bad data, a bug), the leader runs each write of the batch again in a transaction of its
own, so every caller gets its own outcome. If the database itself fails (locked past the busy
timeout, gone away), every caller of the batch gets that error: none of their writes was stored.

A caller already inside a transaction writes in it (in a savepoint): its writes commit with the rest of it.
"""
from __future__ import annotations

import threading

from django.db import DatabaseError, IntegrityError, connections, transaction


class _Write:
    __slots__ = ("fn", "done", "result", "error")

    def __init__(self, fn):
        self.fn, self.done, self.result, self.error = fn, False, None, None


class GroupCommit:
    def __init__(self, using: str = "default", max_batch: int = 64):
        self.using, self.max_batch = using, max_batch
        self.cond = threading.Condition()
        self.pending: list[_Write] = []
        self.leading = False

    def run(self, fn):
        """Run `fn()` (database writes, no side effects outside the database; it may be run twice,
        the first time rolled back) in a transaction, possibly shared; return its result once committed."""
        if connections[self.using].in_atomic_block:
            with transaction.atomic(using=self.using):  # a savepoint: a failed write leaves the rest usable
                return fn()
        write = _Write(fn)
        with self.cond:
            self.pending.append(write)
        while True:
            with self.cond:
                while self.leading and not write.done:
                    self.cond.wait()
                if write.done:
                    break
                # Lead: take what is queued, oldest first (ours is there, in this batch or a later one).
                self.leading = True
                batch, self.pending = self.pending[:self.max_batch], self.pending[self.max_batch:]
            try:
                self._commit(batch)
            finally:
                with self.cond:
                    for w in batch:
                        if not w.done:  # only if _commit itself was interrupted
                            w.error, w.done = w.error or DatabaseError("The write was interrupted"), True
                    self.leading = False
                    self.cond.notify_all()
        if write.error is not None:
            raise write.error
        return write.result

    def _commit(self, batch: list[_Write]) -> None:
        if len(batch) > 1:
            try:
                with transaction.atomic(using=self.using):
                    results = [w.fn() for w in batch]
            except IntegrityError:
                pass  # one write's constraint: each on its own below
            except DatabaseError as exc:  # the database failed: no write of the batch is stored
                for w in batch:
                    w.error, w.done = exc, True
                return
            except Exception:
                pass  # one write's bug or bad data: each on its own below
            else:
                for w, result in zip(batch, results):
                    w.result, w.done = result, True
                return
        for w in batch:
            try:
                with transaction.atomic(using=self.using):
                    w.result = w.fn()
            except Exception as exc:
                w.error = exc
            w.done = True
