"""Workspace and agency resolution and permission helpers: every view goes through these.

Who reaches a workspace (automations.agency has the rules):
- an agency owner / agency member reaches every client workspace of the agency, as owner / editor;
- a client editor / viewer reaches the workspaces where they have a `Membership`.
Anyone else gets 404 (never 403: another tenant's slugs and ids leak nothing). A role that may see
the workspace but not do the action gets 403 — that answer does not depend on any object id.
"""
from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

from ..agency import agency_role, effective_membership, workspaces_for
from ..models import Agency, AgencyMembership, Workspace


def memberships(user):
    """The user's effective memberships (direct and through an agency), for the switcher."""
    return workspaces_for(user)


LAST_WORKSPACE = "flowline_last_ws"


def workspace_view(edit: bool = False):
    """Resolve `slug` to a workspace the user may see (404 otherwise) and pass it as `ws`; sets
    `request.workspace` and `request.membership` (the effective role; `.can_edit`). With edit=True
    a viewer gets 403."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, slug, *args, **kwargs):
            m = effective_membership(request.user, slug)
            if m is None:
                raise Http404("No such workspace")
            if edit and not m.can_edit:
                raise PermissionDenied("Your role can only view runs in this workspace.")
            request.workspace, request.membership = m.workspace, m
            session = getattr(request, "session", None)
            if session is not None and session.get(LAST_WORKSPACE) != m.workspace.slug:
                session[LAST_WORKSPACE] = m.workspace.slug  # the header keeps it on agency/sandbox pages
            return view(request, m.workspace, *args, **kwargs)

        return wrapper

    return decorator


def agency_view(owner: bool = False):
    """Resolve `agency_id` to an agency the user belongs to (404 otherwise) and pass it as
    `agency`; sets `request.agency` and `request.agency_role`. With owner=True a member gets 403."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, agency_id, *args, **kwargs):
            role = agency_role(request.user, agency_id)
            if role is None:
                raise Http404("No such agency")
            if owner and role != AgencyMembership.OWNER:
                raise PermissionDenied("Only the agency owner can do this.")
            request.agency, request.agency_role = Agency.objects.get(pk=agency_id), role
            return view(request, request.agency, *args, **kwargs)

        return wrapper

    return decorator


def workspace_context(request):
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    ws = getattr(request, "workspace", None)
    agency = getattr(request, "agency", None) or (ws.agency if ws is not None and ws.agency_id else None)
    mine = memberships(user)
    nav_ws = ws
    if nav_ws is None and mine:  # agency and sandbox pages: the header still reaches the last workspace
        last = getattr(request, "session", {}).get(LAST_WORKSPACE)
        nav_ws = next((m.workspace for m in mine if m.workspace.slug == last), mine[0].workspace)
    return {"my_memberships": mine, "current_workspace": ws, "nav_workspace": nav_ws,
            "sandbox_enabled": getattr(settings, "SANDBOX_ENABLED", False),
            "membership": getattr(request, "membership", None),
            "my_agencies": Agency.objects.filter(memberships__user=user).order_by("name"),
            "current_agency": agency if agency is not None and agency_role(user, agency.pk) else None}


def first_workspace(user, request=None) -> Workspace | None:
    """Where "home" goes: the workspace used last in this session, else one the user is a direct
    member of (their own, rather than the first client of an agency), else the first reachable."""
    ms = memberships(user)
    if not ms:
        return None
    last = getattr(request, "session", {}).get(LAST_WORKSPACE) if request is not None else None
    chosen = next((m for m in ms if last and m.workspace.slug == last), None)
    if chosen is None:
        direct = set(user.memberships.values_list("workspace_id", flat=True)) if hasattr(user, "memberships") else set()
        chosen = next((m for m in ms if m.workspace.pk in direct), ms[0])
    return chosen.workspace
