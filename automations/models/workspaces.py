"""Tenancy and accounts: agencies, their client workspaces, who may act in them, and the saved app
connections. `WorkspaceQuerySet` (`Model.objects.in_workspace(ws)`) is the tenant filter every
workspace-owned model in this package uses; `Membership` holds client roles and `AgencyMembership`
agency-wide roles; `Connection` keeps an app account's secrets encrypted at rest (crypto.py) and
implements connectors.context.Credentials, including the single-flight token refresh lock.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from .. import crypto


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
