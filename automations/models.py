"""Flowline's data. Every row belongs to a Workspace (a client); agencies group workspaces.

Views reach rows only through `Model.objects.in_workspace(ws)` (see views/common.py), so no view
can forget the tenant.
"""
from __future__ import annotations

import secrets
import threading
from contextlib import contextmanager

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from . import crypto


class WorkspaceQuerySet(models.QuerySet):
    def in_workspace(self, workspace):
        return self.filter(workspace=workspace)


class Agency(models.Model):
    name = models.CharField(max_length=200)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "agencies"

    def __str__(self):
        return self.name


class Workspace(models.Model):
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.CASCADE, related_name="workspaces")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    task_limit = models.PositiveIntegerField(default=10_000, help_text="Tasks (successful action steps) per month")
    retention_days = models.PositiveIntegerField(default=30)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class Membership(models.Model):
    OWNER, EDITOR, VIEWER = "owner", "editor", "viewer"
    ROLES = [(OWNER, "Owner"), (EDITOR, "Editor"), (VIEWER, "Viewer (runs only)")]
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=ROLES, default=EDITOR)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        unique_together = [("user", "workspace")]

    @property
    def can_edit(self):
        return self.role in (self.OWNER, self.EDITOR)


_refresh_locks: dict[int, threading.Lock] = {}
_refresh_locks_guard = threading.Lock()


class Connection(models.Model):
    """A saved account of an app. Secret fields are encrypted at rest (crypto.py); `config` holds
    the non-secret settings (base_url, location_id, company_id, scopes, sandbox). Implements
    connectors.context.Credentials."""

    OK, ERROR, NEEDS_REAUTH, UNTESTED = "ok", "error", "needs_reauth", "untested"
    STATUSES = [(OK, "Working"), (ERROR, "Error"), (NEEDS_REAUTH, "Needs re-authorisation"), (UNTESTED, "Not tested")]
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="connections")
    app = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    auth_kind = models.CharField(max_length=32, default="api_key")
    config = models.JSONField(default=dict, blank=True)
    secret_blob = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=STATUSES, default=UNTESTED)
    status_message = models.CharField(max_length=500, blank=True, default="")
    last_checked = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = WorkspaceQuerySet.as_manager()

    def __str__(self):
        return self.name

    # Credentials protocol -------------------------------------------------------------------
    def secrets(self) -> dict:
        return crypto.decrypt(self.secret_blob)

    def set_secrets(self, values: dict) -> None:
        self.secret_blob = crypto.encrypt({k: v for k, v in values.items() if v not in (None, "")})

    def update_secrets(self, values: dict) -> None:
        merged = {**self.secrets(), **values}
        self.set_secrets(merged)
        Connection.objects.filter(pk=self.pk).update(secret_blob=self.secret_blob, updated=timezone.now())

    @contextmanager
    def refresh_lock(self):
        """Single-flight refresh: a process lock, plus a row lock where the database has them.
        Inside, the row is re-read so a sibling's fresh token is seen."""
        with _refresh_locks_guard:
            lock = _refresh_locks.setdefault(self.pk, threading.Lock())
        with lock, transaction.atomic():
            qs = Connection.objects.filter(pk=self.pk)
            if transaction.get_connection().features.has_select_for_update:
                qs = qs.select_for_update()
            fresh = qs.get()
            self.secret_blob, self.config, self.status = fresh.secret_blob, fresh.config, fresh.status
            yield self

    def mark_needs_reauth(self, message: str) -> None:
        Connection.objects.filter(pk=self.pk).update(
            status=self.NEEDS_REAUTH, status_message=message[:500], last_checked=timezone.now()
        )
        self.status = self.NEEDS_REAUTH

    def secret_values(self) -> list:
        try:
            return list(self.secrets().values())
        except crypto.SecretError:
            return []


def _token():
    return secrets.token_urlsafe(24)


class Flow(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="flows")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    tags = models.CharField(max_length=200, blank=True, default="")
    enabled = models.BooleanField(default=False)
    draft = models.JSONField(default=dict, blank=True)
    published = models.ForeignKey("FlowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    webhook_token = models.CharField(max_length=64, unique=True, default=_token)
    sample_data = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)  # poll interval, auto-retry, alerts
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def trigger_operation(self) -> str:
        d = self.published.definition if self.published else self.draft
        return (d.get("trigger") or {}).get("operation", "")


class FlowVersion(models.Model):
    """An immutable published snapshot of a flow's trigger, steps and mappings."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    note = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        unique_together = [("flow", "number")]
        ordering = ["-number"]

    def __str__(self):
        return f"{self.flow} v{self.number}"


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


# --- Agencies (issue 9): agency roles, templates, clones ------------------------------------------


class AgencyMembership(models.Model):
    """A user's role in an agency. Agency owners and members reach every client workspace of the
    agency (as workspace owner / editor; see views/common.py); client roles stay in `Membership`."""

    OWNER, MEMBER = "owner", "member"
    ROLES = [(OWNER, "Agency owner"), (MEMBER, "Agency member (all clients)")]
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agency_memberships")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=ROLES, default=MEMBER)

    class Meta:
        unique_together = [("user", "agency")]


class AgencyQuerySet(models.QuerySet):
    def in_agency(self, agency):
        return self.filter(agency=agency)


class FlowTemplate(models.Model):
    """A flow an agency reuses across its clients; its content lives in `TemplateVersion`s."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    objects = AgencyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def latest(self):
        return self.versions.order_by("-number").first()


class TemplateVersion(models.Model):
    """An immutable template snapshot. `definition` is a flow definition whose step connections are
    slots (`{"$slot": "crm"}`) and whose strings may hold `{{ vars.NAME }}`; `inputs` declares them:
    {"connections": {slot: {"app", "label"}}, "variables": {name: {"label", "type", "loader", "default"}}}."""

    template = models.ForeignKey(FlowTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    inputs = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=200, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        unique_together = [("template", "number")]
        ordering = ["-number"]

    def __str__(self):
        return f"{self.template} v{self.number}"


class TemplateClone(models.Model):
    """A client's flow made from a template, with the bindings it was made with
    ({"connections": {slot: connection_id}, "variables": {name: value}}), reused on every update."""

    template = models.ForeignKey(FlowTemplate, on_delete=models.CASCADE, related_name="clones")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    flow = models.OneToOneField(Flow, on_delete=models.CASCADE, related_name="template_clone")
    version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="clones")
    bindings = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

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
