"""Trigger state: `TriggerState`, the live schedule slot and poll cursor of a flow's trigger kept
across versions, and the polling machinery around it (issue 5): `SeenItem` keys for dedupe, a
`PollLog` row per poll (with the one-running-poll-per-flow guard), and `HeldBatch`es of items held
back when a poll exceeds the flow's flood threshold until a person releases or discards them.
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from .flows import Flow
from .workspaces import Workspace, WorkspaceQuerySet


class TriggerState(models.Model):
    """The live state of a flow's trigger, kept across versions: schedule slot, poll cursor."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    flow = models.OneToOneField(Flow, on_delete=models.CASCADE, related_name="trigger_state")
    next_at = models.DateTimeField(null=True, blank=True, db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    cursor = models.JSONField(default=dict, blank=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")

    objects = WorkspaceQuerySet.as_manager()

# --- Triggers (issue 5): polling dedupe, poll log, flood hold ------------------------------------


class SeenItem(models.Model):
    """A key (item id, or id@updated-time) a polling trigger has already seen. Belongs to the trigger
    state, not to a flow version, so republishing neither replays nor loses items. Bounded per
    trigger: automations/polling.py keeps every key of the latest poll plus the newest others."""

    trigger_state = models.ForeignKey(TriggerState, on_delete=models.CASCADE, related_name="seen_items")
    key = models.CharField(max_length=200)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["trigger_state", "key"], name="seen_once_per_trigger")]
        indexes = [models.Index(fields=["trigger_state", "-seen_at"], name="seen_recent")]


class PollLog(models.Model):
    """One poll of a polling trigger. `finished` is null while it runs; at most one running poll per
    flow (a partial unique constraint: the concurrent-poll guard)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="poll_logs")
    started = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    seen = models.PositiveIntegerField(default=0)
    new = models.PositiveIntegerField(default=0)  # keys not seen before
    fired = models.PositiveIntegerField(default=0)  # runs created
    held = models.PositiveIntegerField(default=0)  # items put in a HeldBatch
    seeded = models.BooleanField(default=False)  # the first poll after enabling: marks items seen, fires nothing
    error = models.CharField(max_length=500, blank=True, default="")

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["flow"], condition=models.Q(finished__isnull=True),
                                               name="one_running_poll_per_flow")]
        indexes = [models.Index(fields=["flow", "-id"], name="poll_log_recent")]


class HeldBatch(models.Model):
    """More new items in one poll than the flow's flood threshold: no runs until a person releases
    (one run per item) or discards (the items stay seen) the batch. `items` is
    `[{"key": ..., "item": {...}}, ...]`, oldest first."""

    HELD, RELEASED, DISCARDED = "held", "released", "discarded"
    STATUSES = [(HELD, "Held"), (RELEASED, "Released"), (DISCARDED, "Discarded")]
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="held_batches")
    items = models.JSONField(default=list)
    count = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=STATUSES, default=HELD)
    decided = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
