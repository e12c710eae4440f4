"""Polling triggers: each new item fires exactly once, oldest first, across versions and clusters.

A polling trigger is a trigger whose operation declares `poll` (connectors.spec.Poll). The ticker
claims a due TriggerState and a worker calls `triggers.fire` -> `poll(flow, state)`:

1. the concurrent-poll guard: a running `PollLog` row (at most one per flow, a partial unique
   constraint) is inserted first; a second poll of the same flow refuses to start;
2. fetch every page (up to POLL_MAX_ITEMS) through the connector executor (`fetch` is injectable);
3. key each item (`id`, or `id@updated-time` for "updated" triggers) and compare with the trigger's
   seen keys (`SeenItem`, owned by the TriggerState, so republishing keeps them);
4. the first poll after enabling (or after the trigger itself changed) only seeds: nothing old fires,
   unless the user picked "start from a date" (`trigger.poll.start_from`);
5. new items that pass the trigger filter become runs, oldest first, each with dedupe key
   `poll:<key>` (the unique (flow, dedupe_key) is the last guard across clusters); more than the
   flood threshold are held in a `HeldBatch` for a person to release or discard;
6. keys of this poll are marked seen (existing ones touched), older keys pruned to a bound.

Never dedupes by position or page: items may come in any order and shift between pages.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import datetime, timedelta, timezone as dt_timezone

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors import registry

from .models import Connection, Flow, HeldBatch, PollLog, SeenItem, TriggerState, WebhookDelivery
from .triggers import TRIGGER_LEASE, trigger_of

log = logging.getLogger("flowline.polling")

FLOOD_THRESHOLD = 100  # default; a flow may set options["flood_threshold"]
SEEN_KEEP = 5_000  # newest seen keys kept per trigger (never fewer than the latest poll's)
STALE_POLL = timedelta(minutes=15)  # a "running" poll older than this was interrupted
CHUNK = 500  # keys per IN (...) query


def max_items() -> int:
    return int(getattr(settings, "POLL_MAX_ITEMS", 2_000))


# ---------------------------------------------------------------------------------------------
# Reading items


def operation_of(trigger: dict):
    """The trigger's Operation, or None when unknown."""
    try:
        return registry.get_operation(trigger.get("operation") or "")
    except LookupError:
        return None


def is_polling(trigger: dict) -> bool:
    op = operation_of(trigger) if trigger.get("operation") else None
    return op is not None and op.poll is not None


def dig(data, path: str):
    """`a.b.0.c` inside dicts and lists; None when absent."""
    for part in [p for p in (path or "").split(".") if p]:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def to_timestamp(value) -> float | None:
    """An item's time (ISO-8601 string, epoch seconds or milliseconds) as epoch seconds."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    if isinstance(value, (int, float)):
        return value / 1000 if value > 1e11 else float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return to_timestamp(int(text))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (moment if moment.tzinfo else moment.replace(tzinfo=dt_timezone.utc)).timestamp()
    return None


def item_key(item: dict, spec) -> str | None:
    """The dedupe key: the id, or `id@time` for "updated" triggers. Long keys are hashed."""
    ident = dig(item, spec.id_field)
    if ident is None or ident == "":
        return None
    key = str(ident)
    if spec.dedupe == "id_time":
        key = f"{key}@{dig(item, spec.time_field) or ''}"
    return key if len(key) <= 190 else "h:" + hashlib.sha256(key.encode()).hexdigest()


def oldest_first(pairs: list, spec) -> list:
    """`pairs` ((key, item) in API order) sorted oldest first: by the time field when the items have
    one, else by the declared API order."""
    ordered = list(reversed(pairs)) if spec.order == "desc" else list(pairs)
    if not spec.time_field:
        return ordered
    far = float("inf")
    ranked = [(to_timestamp(dig(item, spec.time_field)), n) for n, (_, item) in enumerate(ordered)]
    return [ordered[n] for _, n in sorted(ranked, key=lambda r: (far if r[0] is None else r[0], r[1]))]


def extract_items(result, op) -> list:
    """The list of items in an executor Result: `result.items`, or the list at the pagination's
    `items_path` in `result.output`."""
    out = result.items if getattr(result, "items", None) is not None else getattr(result, "output", result)
    path = op.pagination.items_path if op.pagination else ""
    if isinstance(out, dict) and path and isinstance(dig(out, path), list):
        out = dig(out, path)
    return [i for i in out if isinstance(i, dict)] if isinstance(out, list) else []


def default_fetch(flow, trigger: dict, op, limit: int) -> list:
    """Every page (up to `limit` items) of the trigger's list operation, through the executor."""
    from connectors.context import StepContext
    from connectors.executor import execute

    conn = None
    if trigger.get("connection"):
        conn = Connection.objects.filter(workspace_id=flow.workspace_id, pk=trigger["connection"]).first()
        if conn is None:
            raise LookupError("The trigger's connection no longer exists.")
    inputs = {**(trigger.get("inputs") or {}), "_limit": limit}  # the executor follows pages up to it
    result = execute(op, StepContext(inputs=inputs, credentials=conn, workspace_id=flow.workspace_id))
    return extract_items(result, op)[:limit]


# ---------------------------------------------------------------------------------------------
# Seen keys


def _chunks(seq, size=CHUNK):
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def seen_among(state, keys: list) -> set:
    found = set()
    for part in _chunks(keys):
        found.update(SeenItem.objects.filter(trigger_state=state, key__in=part).values_list("key", flat=True))
    return found


def mark_seen(state, keys: list, existing: set, now) -> None:
    """Insert unseen keys and touch the others, so every key of the latest poll is among the newest."""
    for part in _chunks([k for k in keys if k in existing]):
        SeenItem.objects.filter(trigger_state=state, key__in=part).update(seen_at=now)
    SeenItem.objects.bulk_create([SeenItem(trigger_state=state, key=k, seen_at=now) for k in keys if k not in existing],
                                 ignore_conflicts=True, batch_size=CHUNK)


def prune_seen(state, keep: int) -> int:
    """Delete all but the newest `keep` keys of this trigger."""
    if SeenItem.objects.filter(trigger_state=state).count() <= keep:
        return 0
    cutoff = SeenItem.objects.filter(trigger_state=state).order_by("-seen_at", "-id").values_list("id", flat=True)[keep:]
    doomed = list(cutoff)
    for part in _chunks(doomed):
        SeenItem.objects.filter(pk__in=part).delete()
    return len(doomed)


def fingerprint(trigger: dict) -> str:
    """What identifies the trigger's item stream; a change means the seen keys no longer apply."""
    ident = {k: trigger.get(k) for k in ("operation", "connection", "inputs")}
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Polling


def _begin(flow, now) -> PollLog | None:
    """The concurrent-poll guard: insert this flow's one running PollLog, or None if one exists."""
    PollLog.objects.filter(flow=flow, finished__isnull=True, started__lt=now - STALE_POLL).update(
        finished=now, error="Interrupted (the worker stopped)")
    try:
        with transaction.atomic():
            return PollLog.objects.create(workspace_id=flow.workspace_id, flow=flow, started=now)
    except IntegrityError:
        return None


def _start_run(flow, key: str, item: dict):
    from .engine import queue_run

    try:
        with transaction.atomic():
            return queue_run(flow, item, source="poll", dedupe_key=f"poll:{key}")
    except IntegrityError:  # another cluster (or an earlier, interrupted poll) already made it
        return None


def start_from(trigger: dict, cursor: dict) -> float | None:
    """The "start from a date" of the next seeding poll: set on the trigger state (flow page) or in
    the trigger definition."""
    return to_timestamp(cursor.get("start_from") or (trigger.get("poll") or {}).get("start_from"))


def _to_fire(trigger: dict, spec, pairs: list, new: list, seeding: bool, start: float | None) -> list:
    """Which (key, item) pairs fire, oldest first: the new ones; when seeding, none, or with a
    "start from" date every item at or after it (runs already made are not repeated: dedupe key).
    Then only those that pass the trigger's filter."""
    from .intake import passes_trigger_filter

    if seeding:
        new = [] if start is None else [(k, i) for k, i in oldest_first(pairs, spec)
                                        if (to_timestamp(dig(i, spec.time_field)) or 0) >= start]
    return [(k, i) for k, i in new if passes_trigger_filter(trigger, i)]


def poll(flow: Flow, state: TriggerState, fetch=None, now=None) -> PollLog | None:
    """Poll a flow's trigger once. Returns the finished PollLog, or None when another poll of this
    flow is still running (nothing is done). `fetch(flow, trigger, op, limit) -> list` defaults to
    the connector executor. The caller (triggers.fire) sets the next slot and releases the lease."""
    started = time.monotonic()
    now = now or timezone.now()
    entry = _begin(flow, now)
    if entry is None:
        log.info("flow %s: a poll is still running; not starting another", flow.pk)
        return None
    TriggerState.objects.filter(pk=state.pk).update(lease_until=now + TRIGGER_LEASE)
    try:
        trigger = trigger_of(flow)
        op = operation_of(trigger)
        if op is None or op.poll is None:
            raise LookupError(f"{trigger.get('operation')!r} is not a polling trigger")
        items = (fetch or default_fetch)(flow, trigger, op, max_items())
        _process(entry, flow, state, trigger, op.poll, items, now)
    except Exception as exc:  # noqa: BLE001 - every failure is logged on the poll and the trigger
        log.warning("flow %s: poll failed: %s", flow.pk, exc)
        entry.error = (getattr(exc, "message", "") or str(exc) or type(exc).__name__)[:500]
    entry.finished = timezone.now()
    entry.duration_ms = int((time.monotonic() - started) * 1000)
    entry.save()
    return entry


def _process(entry: PollLog, flow, state, trigger: dict, spec, items: list, now) -> None:
    keyed = {}
    for item in items:
        key = item_key(item, spec)
        if key is not None and key not in keyed:  # the same item on two pages counts once
            keyed[key] = item
    pairs = list(keyed.items())
    existing = seen_among(state, list(keyed))
    cursor = dict(TriggerState.objects.filter(pk=state.pk).values_list("cursor", flat=True).first() or {})
    seeding = not cursor.get("seeded") or cursor.get("fingerprint") != fingerprint(trigger)
    new = oldest_first([(k, i) for k, i in pairs if k not in existing], spec)
    fire = _to_fire(trigger, spec, pairs, new, seeding, start_from(trigger, cursor) if seeding else None)
    threshold = int((flow.options or {}).get("flood_threshold") or FLOOD_THRESHOLD)
    times = [t for t in (to_timestamp(dig(i, spec.time_field)) for i in keyed.values()) if t is not None]
    with transaction.atomic():
        if len(fire) > threshold:
            HeldBatch.objects.create(workspace_id=flow.workspace_id, flow=flow, count=len(fire),
                                     items=[{"key": k, "item": i} for k, i in fire])
            entry.held = len(fire)
        else:
            entry.fired = sum(1 for key, item in fire if _start_run(flow, key, item))
        mark_seen(state, list(keyed), existing, now)
        prune_seen(state, max(SEEN_KEEP, len(keyed)))
        cursor.pop("start_from", None)
        cursor.update(seeded=True, fingerprint=fingerprint(trigger), last_poll=now.isoformat(),
                      high_water=max(times + [cursor.get("high_water") or 0]) or None)
        TriggerState.objects.filter(pk=state.pk).update(cursor=cursor)
    entry.seen, entry.new, entry.seeded = len(keyed), len(new), seeding


# ---------------------------------------------------------------------------------------------
# Held batches


def release(batch: HeldBatch) -> int:
    """Release a held batch: one run per item (oldest first). Returns the runs created."""
    if not HeldBatch.objects.filter(pk=batch.pk, status=HeldBatch.HELD).update(status=HeldBatch.RELEASED,
                                                                                 decided=timezone.now()):
        return 0
    flow = Flow.objects.select_related("published").get(pk=batch.flow_id)
    with transaction.atomic():
        return sum(1 for entry in batch.items if _start_run(flow, entry["key"], entry["item"]))


def restart_from(flow: Flow, when: str | None) -> None:
    """Re-seed the trigger at its next poll (now): nothing old fires, or, with a date, every item at
    or after it that has not made a run yet."""
    state, _ = TriggerState.objects.get_or_create(flow=flow, defaults={"workspace_id": flow.workspace_id})
    cursor = {**(state.cursor or {}), "seeded": False}
    cursor.pop("start_from", None)
    if when:
        cursor["start_from"] = when
    TriggerState.objects.filter(pk=state.pk).update(cursor=cursor, next_at=timezone.now() if flow.enabled else None)


def discard(batch: HeldBatch) -> bool:
    """Discard a held batch: no runs; its items stay seen."""
    return bool(HeldBatch.objects.filter(pk=batch.pk, status=HeldBatch.HELD).update(status=HeldBatch.DISCARDED,
                                                                                      decided=timezone.now()))


# ---------------------------------------------------------------------------------------------
# Test trigger


def sample(flow: Flow, limit: int = 5, fetch=None) -> list:
    """Pull up to `limit` recent items (newest first) and save them as the flow's sample data
    (`{"items": [...], "trigger": <newest>, "fetched_at": ...}`, keeping tested steps). Polling
    triggers ask the app; so do GoHighLevel instant triggers whose records the app can list (contacts:
    the newest, shaped as the event body); other webhook triggers use the latest deliveries."""
    trigger = (flow.draft or {}).get("trigger") or trigger_of(flow)
    op = operation_of(trigger) if trigger.get("operation") else None
    lister = _instant_lister(op) if trigger.get("connection") else None
    def newest(source, trig):  # up to a page of the source's items, newest first
        size = max(limit, source.pagination.page_size if source.pagination else limit)
        items = (fetch or default_fetch)(flow, trig, source, size)
        return list(reversed([i for _, i in oldest_first(list(enumerate(items)), source.poll)]))

    if op is not None and op.poll is not None:
        items = newest(op, trigger)[:limit]
    elif lister is not None:  # a GoHighLevel instant trigger: the account's newest records, shaped as events
        from .ghl_events import as_event

        listed = newest(lister, {**trigger, "inputs": {}})
        location = str(((Connection.objects.filter(workspace_id=flow.workspace_id, pk=trigger["connection"])
                         .values_list("config", flat=True).first()) or {}).get("location_id") or "")
        items = [as_event(op, i, location) for i in listed[:limit]]
    else:
        items = _recent_deliveries(flow, limit)
    sample_data = {**(flow.sample_data or {}), "items": items, "fetched_at": timezone.now().isoformat()}
    if items:
        sample_data["trigger"] = items[0]
    flow.sample_data = sample_data
    Flow.objects.filter(pk=flow.pk).update(sample_data=sample_data)
    return items


def _instant_lister(op):
    """For a GoHighLevel instant trigger, the list operation its samples come from (else None)."""
    if op is None or not (op.extra or {}).get("instant"):
        return None
    from .ghl_events import sample_lister

    lister = sample_lister(op)
    return lister if lister is not None and lister.poll is not None else None


def _recent_deliveries(flow, limit: int) -> list:
    from .ghl_webhooks import normalize
    from .intake import IntakeError, parse_body

    out = []
    for d in WebhookDelivery.objects.filter(flow=flow).order_by("-id")[:limit]:
        try:
            payload = parse_body(bytes(d.body), d.content_type, {})
        except IntakeError:
            continue
        out.append(normalize(payload) if d.source == "ghl" else payload)
    return out
