"""Agency people (issue 9): who can reach the agency and its clients, with which role. Everyone in
the agency sees the list; only agency owners add people, change roles and remove access. Every
membership is looked up within this agency, and the last agency owner cannot be removed or demoted."""
from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from ..models import AgencyMembership, Membership, Workspace
from .common import agency_view

AGENCY_ROLES = dict(AgencyMembership.ROLES)
CLIENT_ROLES = {Membership.OWNER: "Client owner", Membership.EDITOR: "Client editor",
                Membership.VIEWER: "Client viewer (runs only)"}


def _access_choices(agency) -> list[tuple[str, str]]:
    """(value, label) for the "Access" dropdown: agency roles, then each client's roles."""
    choices = [(f"agency:{role}", label) for role, label in AgencyMembership.ROLES]
    for ws in Workspace.objects.filter(agency=agency).order_by("name"):
        choices += [(f"client:{ws.pk}:{role}", f"{label}: {ws.name}") for role, label in CLIENT_ROLES.items()]
    return choices


@agency_view()
def members(request, agency):
    if request.method == "POST":
        if request.agency_role != AgencyMembership.OWNER:
            messages.error(request, "Only an agency owner can change who has access.")
        else:
            _change(request, agency)
        return redirect("agency_members", agency_id=agency.pk)
    ctx = {"agency": agency, "is_owner": request.agency_role == AgencyMembership.OWNER,
           "agency_people": AgencyMembership.objects.filter(agency=agency).select_related("user").order_by("user__username"),
           "client_people": Membership.objects.filter(workspace__agency=agency).select_related("user", "workspace")
           .order_by("workspace__name", "user__username"),
           "choices": _access_choices(agency), "agency_roles": AgencyMembership.ROLES, "client_roles": CLIENT_ROLES.items()}
    return TemplateResponse(request, "agency/members.html", ctx)


# kind -> (its memberships within an agency, its roles, the client it gives access to or "")
KINDS = {
    "agency": (lambda agency: AgencyMembership.objects.filter(agency=agency).select_related("user"),
               AGENCY_ROLES, lambda m: ""),
    "client": (lambda agency: Membership.objects.filter(workspace__agency=agency).select_related("user", "workspace"),
               CLIENT_ROLES, lambda m: m.workspace.name),
}


def _change(request, agency) -> None:
    action, kind = request.POST.get("action"), request.POST.get("kind")
    if action == "add":
        return _add(request, agency)
    if action not in ("role", "remove") or kind not in KINDS:
        return messages.error(request, "Nothing was changed.")
    scope, roles, client = KINDS[kind]
    m = scope(agency).filter(pk=_int(request.POST.get("id"))).first()
    role = request.POST.get("role")
    if m is None:
        messages.error(request, "That access no longer exists: nothing was changed.")
    elif kind == "agency" and _last_owner(agency, m) and (action == "remove" or role != AgencyMembership.OWNER):
        messages.error(request, "The agency needs at least one owner: make someone else owner first.")
    elif action == "remove":
        m.delete()
        messages.success(request, f"{m.user.username} no longer has access to {client(m) or 'the agency'}.")
    elif role in roles:
        m.role = role
        m.save(update_fields=["role"])
        messages.success(request, f"{m.user.username} is now {roles[role].lower()}"
                                  + (f" of {client(m)}." if client(m) else "."))


def _add(request, agency) -> None:
    who = (request.POST.get("who") or "").strip()
    access = request.POST.get("access") or ""
    if not who:
        messages.error(request, "Enter the person's username or email address.")
        return
    if access not in dict(_access_choices(agency)):
        messages.error(request, "Choose what the person can access.")
        return
    users = get_user_model().objects
    user = users.filter(Q(username__iexact=who) | Q(email__iexact=who)).first()
    with transaction.atomic():
        if user is None:
            if "@" not in who:
                messages.error(request, f"No one is called “{who}”. To create a login, enter an email address.")
                return
            password = secrets.token_urlsafe(12)
            user = users.create_user(username=who.lower(), email=who.lower(), password=password)
            messages.warning(request, f"A login was created for {user.email} with the password {password} "
                                      "(shown once: send it to them; they can change it after logging in).")
        kind, *rest = access.split(":")
        if kind == "agency":
            AgencyMembership.objects.update_or_create(user=user, agency=agency, defaults={"role": rest[0]})
            messages.success(request, f"{user.username} is now {AGENCY_ROLES[rest[0]].lower()}.")
        else:
            ws = Workspace.objects.get(agency=agency, pk=int(rest[0]))
            Membership.objects.update_or_create(user=user, workspace=ws, defaults={"role": rest[1]})
            messages.success(request, f"{user.username} is now {CLIENT_ROLES[rest[1]].lower()} of {ws.name}.")


def _last_owner(agency, m) -> bool:
    return m.role == AgencyMembership.OWNER and not AgencyMembership.objects.filter(
        agency=agency, role=AgencyMembership.OWNER).exclude(pk=m.pk).exists()


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
