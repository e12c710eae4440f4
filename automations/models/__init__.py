"""Flowline's data. Every row belongs to a Workspace (a client); agencies group workspaces.

Views reach rows only through `Model.objects.in_workspace(ws)` (see views/common.py), so no view
can forget the tenant.

The models are split by responsibility: `workspaces` (agencies, workspaces, memberships,
connections), `flows` (flows, published versions, agency templates and clones), `runs` (runs, step
results, webhook deliveries, replay jobs, dashboard rollups) and `triggers` (trigger state, polling
dedupe, poll log, held batches). Everything is re-exported here, so `from automations.models import X`
works as before; import from this package, not from the submodules.
"""
from __future__ import annotations

from .workspaces import (Agency, AgencyMembership, Connection, Membership, Workspace, WorkspaceQuerySet,
                         _refresh_locks, _refresh_locks_guard)
from .flows import AgencyQuerySet, Flow, FlowTemplate, FlowVersion, TemplateClone, TemplateVersion, _token
from .runs import ReplayJob, Run, RunRollup, StepResult, WebhookDelivery
from .triggers import HeldBatch, PollLog, SeenItem, TriggerState

# `_token` stays reachable as `automations.models._token`: migration 0001 names it by that path.
__all__ = [
    "Agency", "AgencyMembership", "AgencyQuerySet", "Connection", "Flow", "FlowTemplate", "FlowVersion",
    "HeldBatch", "Membership", "PollLog", "ReplayJob", "Run", "RunRollup", "SeenItem", "StepResult",
    "TemplateClone", "TemplateVersion", "TriggerState", "WebhookDelivery", "Workspace", "WorkspaceQuerySet",
]
