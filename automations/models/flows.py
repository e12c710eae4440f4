"""Flows and their reuse: a workspace's `Flow` (editable draft, webhook token, options), the
immutable published `FlowVersion` snapshots runs execute, and the agency layer on top of them:
`FlowTemplate`s with their `TemplateVersion`s, and the `TemplateClone` that ties a client's flow to
the template version and bindings it was made from. `AgencyQuerySet` scopes templates to an agency.
`_token` (the default webhook token) must stay importable as `automations.models._token`: migration
0001 references it by that path.
"""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from .workspaces import Agency, Workspace, WorkspaceQuerySet


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

# --- Agencies (issue 9): templates, clones ------------------------------------------------------


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
