"""The only module that talks to django-q2. Tasks carry ids; state lives in our tables.

Runs do not go through here: the runs table is their queue and each worker process's pump takes
them (automations/pump.py). django-q2 carries triggers, polls and bulk replays."""
from __future__ import annotations

import logging
import os

from django.db import transaction
from django_q.brokers import get_broker
from django_q.tasks import async_task

log = logging.getLogger("flowline.tasks")
_broker = (None, None)  # (pid, broker): django-q2 builds a new broker (a new Redis client) per task otherwise


def broker():
    global _broker
    if _broker[0] != os.getpid():
        _broker = (os.getpid(), get_broker())
    return _broker[1]


def _send(func: str, *args):
    try:
        async_task(func, *args, task_name=f"{func.rsplit('.', 1)[-1]}-{'-'.join(map(str, args))}", broker=broker())
    except Exception:  # broker down: the ticker re-enqueues queued runs, nothing is lost
        log.exception("could not enqueue %s%s; the ticker will retry", func, args)


def enqueue_trigger(flow_id: int) -> None:
    _send("automations.tasks.fire_trigger", flow_id)


def fire_trigger(flow_id: int):
    from .triggers import fire

    return fire(flow_id)


# --- runs history: bulk replay (automations/replay.py) ---------------------------------------------
def enqueue_bulk_replay(job_id: int) -> None:
    transaction.on_commit(lambda: _send("automations.tasks.bulk_replay", job_id))


def bulk_replay(job_id: int):
    from .replay import run_bulk_job

    job = run_bulk_job(job_id)
    return job and job.processed
