"""Agency pages: dashboard, client workspaces (made from GoHighLevel locations), templates (save a
flow as a template, clone wizard, update clones, import/export) and flow JSON import/export.

Every agency page goes through `@agency_view` (404 unless the user belongs to the agency) and
every client it touches is looked up inside `agency.workspaces`; a client id of another agency is
simply absent. Cloning and updating are open to agency owners and members; creating client
workspaces is for owners only. Client editors/viewers never see agency pages (404).
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from connectors import registry
from connectors.context import StepContext

from .. import agency as A
from .. import rollup
from ..flows import FlowInvalid, export_flow, import_flow
from ..models import Connection, Flow, FlowTemplate, Run, TemplateClone, Workspace
from .common import agency_view, workspace_view

WINDOWS = (1, 7, 30)


def _download(data: dict, filename: str) -> JsonResponse:
    response = JsonResponse(data, json_dumps_params={"indent": 2, "sort_keys": True})
    response["Content-Disposition"] = f'attachment; filename="{slugify(filename) or "export"}.json"'
    return response


def _uploaded_json(request) -> dict:
    raw = request.FILES["file"].read() if "file" in request.FILES else request.POST.get("json", "").encode()
    try:
        data = json.loads(raw or b"null")
    except ValueError as exc:
        raise FlowInvalid([f"Not valid JSON: {exc}"]) from None
    if not isinstance(data, dict):
        raise FlowInvalid(["Not a JSON object."])
    return data


# --- dashboard -----------------------------------------------------------------------------------

def client_rows(agency, days: int) -> list[dict]:
    """Per client: runs, failures and tasks of its last `days` local days (today included, in the
    client's time zone, as on its own dashboard) and its failing flows (most failures first); from
    the rollup (automations/rollup.py)."""
    out = []
    for ws in agency.workspaces.order_by("name"):
        last = rollup.today(rollup.zone(ws.timezone))
        first = last - timedelta(days=days - 1)
        counts = rollup.day_counts(ws, first, last).values()
        failing = Counter()
        for r in rollup.failures(ws, first, last):
            failing[r["flow_id"]] += r["n"]
        names = dict(Flow.objects.in_workspace(ws).filter(pk__in=list(failing)).values_list("pk", "name"))
        out.append({"ws": ws, "runs": sum(sum(c.values()) for c, _ in counts),
                    "failed": sum(c[Run.FAILED] for c, _ in counts), "tasks": sum(t for _, t in counts),
                    "failing": [{"flow": f, "flow__name": names.get(f, f"Flow {f}"), "n": n}
                                for f, n in failing.most_common() if n]})
    return out


@agency_view()
def dashboard(request, agency):
    days = int(request.GET.get("days", 7)) if request.GET.get("days", "7").isdigit() else 7
    days = days if days in WINDOWS else 7
    rows = client_rows(agency, days)
    totals = {k: sum(r[k] for r in rows) for k in ("runs", "failed", "tasks")}
    recent = Run.objects.filter(workspace__agency=agency).select_related("flow", "workspace").order_by("-id")[:15]
    return TemplateResponse(request, "agency/dashboard.html", {
        "agency": agency, "rows": rows, "totals": totals, "days": days, "windows": WINDOWS, "recent": recent})


# --- client workspaces from GoHighLevel locations -------------------------------------------------

class GhlLocations:
    """An agency-level GoHighLevel connection's locations (operation `gohighlevel.list_locations`,
    `GET /locations/search`) and a location-token connection per location
    (`connectors.gohighlevel.oauth.location_token`, `POST /oauth/locationToken`).
    Tests replace `LOCATIONS` with a fake of the same two methods."""

    def list(self, conn) -> list[dict]:
        from ..engine import dispatch

        op = registry.get_operation("gohighlevel.list_locations")
        ctx = StepContext(inputs={"companyId": conn.config.get("company_id"), "limit": 100}, credentials=conn,
                          workspace_id=conn.workspace_id)
        out = dispatch(op, ctx).output or {}
        found = out.get("locations") if isinstance(out, dict) else out
        return [{"id": loc["id"], "name": loc.get("name") or loc["id"]} for loc in found or [] if loc.get("id")]

    def connect(self, conn, location: dict, ws) -> Connection:
        from connectors.gohighlevel.oauth import location_token

        minted = location_token(conn, location["id"])
        keep = {k: v for k, v in conn.config.items() if k in ("base_url", "sandbox", "client_id", "company_id")}
        c = Connection(workspace=ws, app=conn.app, auth_kind=conn.auth_kind, name=f"{location['name']} (location)",
                       config={**keep, "user_type": "Location", "location_id": minted.get("location_id") or location["id"],
                               "scopes": minted.get("scopes") or [], "agency_connection": conn.pk})
        c.set_secrets({"access_token": minted["access_token"], "expires_at": minted.get("expires_at")})
        c.save()
        return c


LOCATIONS = GhlLocations()


def agency_connections(agency):
    """Agency-level GoHighLevel connections: in one of the agency's workspaces, without a location."""
    return [c for c in Connection.objects.filter(workspace__agency=agency, app="gohighlevel").select_related("workspace")
            if not c.config.get("location_id")]


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "client"
    slug, n = base, 2
    while Workspace.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@agency_view()
def clients(request, agency):
    conns = agency_connections(agency) if request.agency_role == "owner" else []
    ctx = {"agency": agency, "rows": client_rows(agency, 30), "conns": conns,
           "is_owner": request.agency_role == "owner"}
    chosen = next((c for c in conns if str(c.pk) == request.GET.get("connection")), None)
    if chosen:
        try:
            taken = set(Connection.objects.filter(workspace__agency=agency).values_list("config__location_id", flat=True))
            ctx["locations"] = [dict(loc, taken=loc["id"] in taken) for loc in LOCATIONS.list(chosen)]
            ctx["chosen"] = chosen
        except Exception as exc:  # noqa: BLE001 - a failing API call must show, not break the page
            ctx["error"] = f"Could not list the locations: {getattr(exc, 'message', None) or exc}"
    return TemplateResponse(request, "agency/clients.html", ctx)


@require_POST
@agency_view(owner=True)
def create_clients(request, agency):
    conn = next((c for c in agency_connections(agency) if str(c.pk) == request.POST.get("connection")), None)
    if conn is None:
        raise Http404("No such connection")
    wanted = set(request.POST.getlist("location"))
    created = []
    for loc in (loc for loc in LOCATIONS.list(conn) if loc["id"] in wanted):
        with transaction.atomic():
            ws = Workspace.objects.create(agency=agency, name=loc["name"][:200], slug=_unique_slug(loc["name"]))
            LOCATIONS.connect(conn, loc, ws)
        created.append(ws.name)
    messages.success(request, f"Created {len(created)} client workspace(s): {', '.join(created) or 'none'}.")
    return redirect("agency_clients", agency_id=agency.pk)


# --- templates ----------------------------------------------------------------------------------

def _template(agency, template_id) -> FlowTemplate:
    return get_object_or_404(FlowTemplate.objects.in_agency(agency), pk=template_id)


@agency_view()
def templates(request, agency):
    flows = Flow.objects.filter(workspace__agency=agency).select_related("workspace").order_by("workspace__name", "name")
    picked = request.GET.get("flow", "")
    if picked.isdigit():
        flow = get_object_or_404(flows, pk=picked)
        return redirect("flow_save_template", slug=flow.workspace.slug, flow_id=flow.pk)
    rows = FlowTemplate.objects.in_agency(agency).annotate(n_clones=Count("clones"))
    return TemplateResponse(request, "agency/templates.html", {"agency": agency, "templates": rows, "flows": flows})


@agency_view()
def template_detail(request, agency, template_id):
    t = _template(agency, template_id)
    latest = t.latest
    clones = TemplateClone.objects.filter(template=t).select_related("workspace", "flow", "version").order_by("workspace__name")
    return TemplateResponse(request, "agency/template.html", {
        "agency": agency, "t": t, "latest": latest, "versions": t.versions.all(), "clones": clones,
        "definition": json.dumps(latest.definition if latest else {}, indent=2)})


@agency_view()
def template_export(request, agency, template_id):
    t = _template(agency, template_id)
    version = get_object_or_404(t.versions, number=request.GET["version"]) if request.GET.get("version", "").isdigit() else t.latest
    if version is None:
        raise Http404("No version")
    return _download(A.export_template(version), f"{t.name}-v{version.number}")


@require_POST
@agency_view()
def template_import(request, agency):
    target = request.POST.get("template")
    template = _template(agency, target) if target else None
    try:
        version = A.import_template(_uploaded_json(request), agency, request.user, template=template)
    except FlowInvalid as exc:
        messages.error(request, "Cannot import: " + "; ".join(exc.problems))
        return redirect("agency_templates", agency_id=agency.pk)
    messages.success(request, f"Imported {version.template.name} v{version.number}.")
    return redirect("agency_template", agency_id=agency.pk, template_id=version.template_id)


def _variables_from_post(post) -> dict:
    """Rows var_name/var_label/var_type/var_loader/var_replace of the save-as-template form."""
    rows = zip(*(post.getlist(f"var_{k}") for k in ("name", "label", "type", "loader", "replace")))
    return {n.strip(): {"label": lb, "type": ty, "loader": lo, "replace": rp, "default": rp}
            for n, lb, ty, lo, rp in rows if n.strip()}


@workspace_view(edit=True)
def save_as_template(request, ws, flow_id):
    """Save a client's flow as a template (or a new version of one) of the client's agency."""
    if not ws.agency_id or A.agency_role(request.user, ws.agency_id) is None:
        raise PermissionDenied("Only agency owners and members can save templates.")
    flow = get_object_or_404(Flow.objects.in_workspace(ws).select_related("published"), pk=flow_id)
    existing = FlowTemplate.objects.in_agency(ws.agency)
    if request.method == "POST":
        try:
            definition, inputs = A.template_from_flow(flow, _variables_from_post(request.POST))
        except FlowInvalid as exc:
            messages.error(request, "; ".join(exc.problems))
            return redirect("flow_save_template", slug=ws.slug, flow_id=flow.pk)
        target = request.POST.get("template")
        t = get_object_or_404(existing, pk=target) if target else FlowTemplate.objects.create(
            agency=ws.agency, name=request.POST.get("name") or flow.name, created_by=request.user,
            description=request.POST.get("description") or flow.description)
        v = A.add_version(t, definition, inputs, note=request.POST.get("note") or f"From {ws.name}: {flow.name}")
        messages.success(request, f"Saved {t.name} v{v.number}.")
        return redirect("agency_template", agency_id=ws.agency_id, template_id=t.pk)
    return TemplateResponse(request, "agency/save_template.html", {
        "ws": ws, "flow": flow, "existing": existing, "types": A.VAR_TYPES, "rows": range(4)})


# --- clone wizard -------------------------------------------------------------------------------

def load_options(loader: str, conn) -> list[dict]:
    """A variable's dropdown, loaded from the client's own account (connectors.options)."""
    if not loader or conn is None:
        return []
    try:
        from connectors.options import load_options as load

        return list(load(loader, conn))
    except Exception:  # noqa: BLE001 - no loader / API down: the field falls back to free text
        return []


def binding_form(version, ws) -> dict:
    """One client's part of the wizard: connection choices per slot, variables with options."""
    inputs, defaults = version.inputs or {}, A.default_bindings(version, ws)
    slots, variables = [], []
    for slot, spec in sorted((inputs.get("connections") or {}).items()):
        choices = list(Connection.objects.in_workspace(ws).filter(app=spec.get("app")).order_by("name"))
        slots.append({"slot": slot, "spec": spec, "choices": choices, "current": defaults["connections"].get(slot)})
    for name, spec in sorted((inputs.get("variables") or {}).items()):
        app = (spec.get("loader") or "").split(".")[0]
        conn_id = next((defaults["connections"][s] for s, sp in (inputs.get("connections") or {}).items()
                        if sp.get("app") == app and s in defaults["connections"]), None)
        conn = Connection.objects.in_workspace(ws).filter(pk=conn_id).first() if conn_id else None
        variables.append({"name": name, "spec": spec, "options": load_options(spec.get("loader"), conn),
                          "current": defaults["variables"].get(name, "")})
    return {"ws": ws, "slots": slots, "variables": variables}


def bindings_from_post(post, version, ws) -> dict:
    p = f"c{ws.pk}_"
    inputs = version.inputs or {}
    return {"connections": {s: A._int(post.get(f"{p}slot_{s}")) for s in inputs.get("connections") or {}
                            if post.get(f"{p}slot_{s}")},
            "variables": {n: post.get(f"{p}var_{n}", "").strip() for n in inputs.get("variables") or {}
                          if post.get(f"{p}var_{n}", "").strip()}}


@agency_view()
def clone_wizard(request, agency, template_id):
    """GET: choose clients (step 1), then bind each chosen client's inputs (step 2, `?clients=`).
    POST: clone into every chosen client; the report says per client what was made or is missing."""
    t = _template(agency, template_id)
    version = t.latest
    if version is None:
        raise Http404("The template has no version")
    ids = request.POST.getlist("clients") if request.method == "POST" else request.GET.getlist("clients")
    chosen = list(agency.workspaces.filter(pk__in=[i for i in ids if i.isdigit()]).order_by("name"))
    ctx = {"agency": agency, "t": t, "version": version, "clients": agency.workspaces.order_by("name"), "chosen": chosen}
    if request.method == "POST":
        targets = [(ws, bindings_from_post(request.POST, version, ws)) for ws in chosen]
        ctx["reports"] = A.clone_many(version, targets, request.user)
        return TemplateResponse(request, "agency/clone_report.html", ctx)
    ctx["forms"] = [binding_form(version, ws) for ws in chosen]
    return TemplateResponse(request, "agency/clone.html", ctx)


@agency_view()
def update_clones(request, agency, template_id):
    """GET: each clone's differences from the latest version. POST: push it to the chosen clones."""
    t = _template(agency, template_id)
    version = t.latest
    if version is None:
        raise Http404("The template has no version")
    clones = list(TemplateClone.objects.filter(template=t, workspace__agency=agency)
                  .select_related("workspace", "flow__published", "version").order_by("workspace__name"))
    if request.method == "POST":
        wanted = set(request.POST.getlist("clones"))
        reports = [A.push_update(c, version, request.user) for c in clones if str(c.pk) in wanted]
        for r in reports:
            (messages.success if r.ok else messages.error)(
                request, f"{r.workspace.name}: " + (f"updated to v{version.number}." if r.ok else
                                                    "not updated, " + "; ".join(r.missing + r.problems)))
        return redirect("agency_template", agency_id=agency.pk, template_id=t.pk)
    rows = []
    for c in clones:
        diff, missing = A.clone_diff(c, version)
        rows.append({"clone": c, "diff": diff[:50], "more": max(0, len(diff) - 50), "missing": missing})
    return TemplateResponse(request, "agency/update.html", {"agency": agency, "t": t, "version": version, "rows": rows})


# --- flow JSON export / import --------------------------------------------------------------------

@workspace_view(edit=True)
def flow_export(request, ws, flow_id):
    flow = get_object_or_404(Flow.objects.in_workspace(ws).select_related("published"), pk=flow_id)
    return _download(export_flow(flow), flow.name)


@require_POST
@workspace_view(edit=True)
def flow_import(request, ws):
    try:
        flow, missing = import_flow(_uploaded_json(request), ws, request.user)
    except FlowInvalid as exc:
        messages.error(request, "Cannot import: " + "; ".join(exc.problems))
        return redirect("workspace", slug=ws.slug)
    if missing:
        messages.warning(request, "Imported as a draft; missing connections: " + ", ".join(missing))
    else:
        messages.success(request, f"Imported {flow.name}.")
    return redirect("flow", slug=ws.slug, flow_id=flow.pk)
