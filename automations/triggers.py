"""Trigger state kept across versions: schedule slots and, for polling triggers, the cursor.

The ticker claims due triggers with a conditional UPDATE; `fire` runs in a worker. A schedule slot
becomes a run with dedupe key `schedule:<slot>`, so two clusters firing the same slot make one run.
A polling trigger (its operation declares `poll`) is handed to `polling.poll`, every 1-15 minutes
(default 5). After downtime exactly one catch-up run or poll fires, then the next slot is computed
from now.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Flow, TriggerState

log = logging.getLogger("flowline.triggers")
TRIGGER_LEASE = timedelta(minutes=5)
DEFAULT_POLL_MINUTES = 5


def trigger_of(flow) -> dict:
    return ((flow.published.definition if flow.published else flow.draft) or {}).get("trigger") or {}


def next_slot(trigger: dict, after: datetime) -> datetime | None:
    op = trigger.get("operation")
    inputs = trigger.get("inputs") or {}
    if op == "schedule.every":
        cron = (inputs.get("cron") or "").strip()
        if cron:
            tz = ZoneInfo(inputs.get("timezone") or "UTC")
            return croniter(cron, after.astimezone(tz)).get_next(datetime).astimezone(ZoneInfo("UTC"))
        minutes = max(1, int(inputs.get("interval_minutes") or 60))
        return after + timedelta(minutes=minutes)
    poll_minutes = (trigger.get("poll") or {}).get("interval_minutes")
    if not poll_minutes and op and _is_polling(trigger):
        poll_minutes = DEFAULT_POLL_MINUTES
    if poll_minutes:
        return after + timedelta(minutes=min(15, max(1, int(poll_minutes))))
    return None


def _is_polling(trigger: dict) -> bool:
    from .polling import is_polling

    return is_polling(trigger)


def sync_state(flow: Flow) -> TriggerState | None:
    """Create or update the trigger state when a flow is switched on or republished. The cursor is
    kept: republishing neither replays nor loses items."""
    trigger = trigger_of(flow)
    state, _ = TriggerState.objects.get_or_create(flow=flow, defaults={"workspace_id": flow.workspace_id})
    now = timezone.now()
    if flow.enabled and trigger:
        if state.next_at is None or state.next_at < now - timedelta(days=1):
            state.next_at = next_slot(trigger, now)
            if state.next_at and _is_polling(trigger) and not (state.cursor or {}).get("seeded"):
                state.next_at = now  # the seeding poll runs right away
    else:
        state.next_at = None
        if (state.cursor or {}).get("seeded"):  # switched off: switching on again seeds afresh
            state.cursor = {**state.cursor, "seeded": False}
    state.save(update_fields=["next_at", "cursor"])
    return state


class PollFailed(Exception):
    """The poll ran and failed (logged on its PollLog); the trigger retries in a minute."""


def fire(flow_id: int) -> int | None:
    """Fire a due trigger once. Returns the run id created, if any."""
    from .engine import start_run

    flow = Flow.objects.select_related("published").filter(pk=flow_id).first()
    state = TriggerState.objects.filter(flow_id=flow_id).first()
    if flow is None or state is None:
        return None
    run_id = None
    if state.next_at and state.next_at > timezone.now() + timedelta(seconds=1):
        # claimed by a ticker that read the row before another cluster fired it: not due yet
        TriggerState.objects.filter(pk=state.pk).update(lease_until=None)
        return None
    try:
        trigger = trigger_of(flow)
        slot = state.next_at
        if flow.enabled and flow.published and slot and _is_polling(trigger):
            from .polling import poll

            entry = poll(flow, state)
            if entry is not None and entry.error:
                raise PollFailed(entry.error)
        elif flow.enabled and flow.published and slot and trigger.get("operation") == "schedule.every":
            try:
                with transaction.atomic():
                    run = start_run(flow, {"scheduled_at": slot.isoformat(), "fired_at": timezone.now().isoformat()},
                                    source="schedule", dedupe_key=f"schedule:{slot.isoformat()}")
                    run_id = run.pk
            except IntegrityError:
                log.info("flow %s: slot %s already fired by another cluster", flow_id, slot)
        now = timezone.now()
        nxt = next_slot(trigger, max(now, slot or now)) if flow.enabled else None
        TriggerState.objects.filter(pk=state.pk).update(next_at=nxt, lease_until=None, last_fired_at=now, last_error="")
    except Exception as exc:
        log.error("flow %s: trigger failed: %s", flow_id, exc, exc_info=not isinstance(exc, PollFailed))
        TriggerState.objects.filter(pk=state.pk).update(lease_until=None, last_error=str(exc)[:500],
                                                        next_at=timezone.now() + timedelta(minutes=1))
    return run_id
