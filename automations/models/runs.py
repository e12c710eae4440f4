"""Execution records: each `Run` of a flow version (status, lease, queue and retry timing, error
summary) with its per-step `StepResult`s, the raw `WebhookDelivery` stored before a webhook is
answered, the bulk `ReplayJob`s of the runs history, and `RunRollup`, the per-day counts of finished
runs the dashboards read instead of the runs table (kept in step by automations.rollup).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .flows import Flow, FlowVersion
from .workspaces import Workspace, WorkspaceQuerySet


class Run(models.Model):
    QUEUED, RUNNING, WAITING, SUCCEEDED, FAILED, HALTED, CANCELLED, HELD = (
        "queued", "running", "waiting", "succeeded", "failed", "halted", "cancelled", "held")
    STATUSES = [(s, s.capitalize()) for s in (QUEUED, RUNNING, WAITING, SUCCEEDED, FAILED, HALTED, CANCELLED, HELD)]
    ACTIVE = (QUEUED, RUNNING, WAITING)
    TERMINAL = (SUCCEEDED, FAILED, HALTED, CANCELLED)

    # No single-column index on workspace, flow or replay_of: the composite and partial indexes below
    # serve those lookups, and every index is written by each run's insert and status change.
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="runs", db_index=False)
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="runs", db_index=False)
    version = models.ForeignKey(FlowVersion, on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(max_length=16, choices=STATUSES, default=QUEUED)
    source = models.CharField(max_length=16, default="manual")  # webhook, poll, schedule, manual, replay
    trigger_payload = models.JSONField(default=dict, blank=True)
    summary = models.CharField(max_length=300, blank=True, default="")
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays",
                                  db_index=False)
    claims = models.PositiveIntegerField(default=0)
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    error_category = models.CharField(max_length=32, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    error_step = models.CharField(max_length=200, blank=True, default="")
    possible_duplicate = models.BooleanField(default=False)
    tasks_used = models.PositiveIntegerField(default=0)
    auto_retries = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)  # runs history: next automatic retry of a failed run
    created = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["flow", "dedupe_key"], name="run_dedupe_per_flow")]
        indexes = [
            models.Index(fields=["workspace", "-id"], name="run_ws_recent"),
            models.Index(fields=["flow", "-id"], name="run_flow_recent"),
            models.Index(fields=["workspace", "status", "-id"], name="run_ws_status"),
            # the ticker: runs waiting for a retry or a delay, and leases that expired (partial: a run is in
            # at most one of them, and in neither while queued or finished)
            models.Index(fields=["due_at"], name="run_due", condition=models.Q(status="waiting")),
            models.Index(fields=["lease_until"], name="run_lease", condition=models.Q(status="running")),
            models.Index(fields=["replay_of"], name="run_replays", condition=models.Q(replay_of__isnull=False)),
            # the queue: the workers' pumps claim the runs queued longest (engine.claim_queued)
            models.Index(fields=["enqueued_at", "id"], name="run_queued", condition=models.Q(status="queued")),
            # runs history: dashboard day counts (covering) and retention by age; due auto-retries
            models.Index(fields=["workspace", "created", "status", "tasks_used"], name="run_ws_created"),
            models.Index(fields=["retry_at"], name="run_retry_due", condition=models.Q(retry_at__isnull=False)),
            # dashboards: the runs in progress (not in the rollup), counted per day without reading the table
            models.Index(fields=["workspace", "status", "created", "tasks_used"], name="run_ws_live",
                         condition=models.Q(status__in=["queued", "running", "waiting", "held"])),
        ]

    def __str__(self):
        return f"Run {self.pk} ({self.status})"

    @property
    def duration_ms(self):
        if self.started_at and self.finished_at:
            return int((self.finished_at - self.started_at).total_seconds() * 1000)
        return None


class StepResult(models.Model):
    """One step of one run: mapped input, request and response (redacted), output, error, attempts."""

    RUNNING, RETRYING, WAITING, SUCCEEDED, FAILED, HALTED, SKIPPED = (
        "running", "retrying", "waiting", "succeeded", "failed", "halted", "skipped")
    STATUSES = [(s, s.capitalize()) for s in (RUNNING, RETRYING, WAITING, SUCCEEDED, FAILED, HALTED, SKIPPED)]
    DONE = (SUCCEEDED, HALTED, SKIPPED)

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps", db_index=False)  # (run, path) is unique
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=200)  # "s2", "s3/b0/s4", "s5[3]/s6"
    step_id = models.CharField(max_length=64)
    position = models.PositiveIntegerField(default=0)
    operation = models.CharField(max_length=200)
    label = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=16, choices=STATUSES, default=RUNNING)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    request = models.JSONField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    error_category = models.CharField(max_length=32, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    attempt_log = models.JSONField(default=list, blank=True)
    idempotency_key = models.CharField(max_length=80, blank=True, default="")
    possible_duplicate = models.BooleanField(default=False)
    counts_as_task = models.BooleanField(default=False)
    due_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "path"], name="step_once_per_run")]


class WebhookDelivery(models.Model):
    """A received webhook, stored (raw body) before we answer 2xx."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # (flow, delivery_id) is unique: that index serves lookups by flow too
    flow = models.ForeignKey(Flow, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries",
                             db_index=False)
    source = models.CharField(max_length=32, default="webhook")
    delivery_id = models.CharField(max_length=200)
    received_at = models.DateTimeField(default=timezone.now)
    content_type = models.CharField(max_length=200, blank=True, default="")
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow", "delivery_id"], name="delivery_once_per_flow")]

# --- runs history (issue 7) -----------------------------------------------------------------------


class ReplayJob(models.Model):
    """A bulk replay of a filtered set of runs (at most REPLAY_BULK_MAX), worked through by a task.
    `run_ids` is fixed when the job is created, so the set does not drift while it runs."""

    RETRY, REPLAY_VERSION, REPLAY_LATEST = "retry", "replay_version", "replay_latest"
    MODES = [(RETRY, "Retry from the failed step"), (REPLAY_VERSION, "Replay from the start on the version each ran"),
             (REPLAY_LATEST, "Replay from the start on the latest published version")]
    QUEUED, RUNNING, FINISHED = "queued", "running", "finished"
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    mode = models.CharField(max_length=16, choices=MODES, default=RETRY)
    filters = models.JSONField(default=dict, blank=True)
    run_ids = models.JSONField(default=list, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, default=QUEUED)
    created = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceQuerySet.as_manager()

    @property
    def processed(self):
        return self.done + self.failed + self.skipped

    @property
    def percent(self):
        return int(100 * self.processed / self.total) if self.total else 100


class RunRollup(models.Model):
    """Finished runs counted per workspace local day (of `Run.created`), flow, status and, for
    failed runs, error category: what the dashboards read instead of the runs. Kept in step with
    every change of a run's status by `automations.rollup.transition`; see that module."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16)
    error_category = models.CharField(max_length=32, blank=True, default="")
    runs = models.IntegerField(default=0)
    tasks = models.IntegerField(default=0)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "day", "flow", "status", "error_category"],
                                               name="run_rollup_key")]
