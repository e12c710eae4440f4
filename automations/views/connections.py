"""Connections: the saved accounts of apps in a workspace. List them with the flows that use them;
add one (form generated from `App.auth_fields`), test it, rotate its key, re-authorise (OAuth),
delete an unused one. Added from an editor card (`?flow=&step=`), the new connection is chosen for
that step and the card comes back."""
from __future__ import annotations

import importlib

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from connectors import errors as step_errors
from connectors import registry
from connectors.context import StepContext

from .. import builder as B
from ..models import Connection, Flow
from ..redaction import redact, secret_values
from .common import workspace_view
from .editor import error_response, get_flow, get_step, render_card, save_draft

AUTH_LABELS = {"api_key": "API key", "oauth2": "OAuth (connect with the app)", "client_credentials": "Client credentials",
               "sandbox": "Sandbox (local test account)", "private_token": "Private integration token"}


def connectable_apps():
    return sorted((a for a in registry.apps() if not a.builtin and set(a.auth) - {"none"}), key=lambda a: a.label)


def app_or_none(key):
    try:
        return registry.get_app(key)
    except LookupError:
        return None


def oauth_url(ws, app, conn=None) -> str | None:
    """The OAuth start link of an app, when its connector provides one (URL name `oauth_start`)."""
    if "oauth2" not in app.auth:
        return None
    try:
        url = reverse("oauth_start", kwargs={"slug": ws.slug, "app": app.key})
    except NoReverseMatch:
        return None
    return url + (f"?connection={conn.pk}" if conn else "")


def usage(ws) -> dict[int, list[Flow]]:
    """Connection id -> flows whose draft or published version uses it."""
    used: dict[int, list[Flow]] = {}
    for flow in Flow.objects.in_workspace(ws).select_related("published"):
        ids = set()
        for definition in (flow.draft or {}, flow.published.definition if flow.published else {}):
            for step in [definition.get("trigger") or {}] + B.all_steps(definition):
                if step.get("connection"):
                    ids.add(step["connection"])
        for cid in ids:
            used.setdefault(cid, []).append(flow)
    return used


def row(conn, ws, used):
    app = app_or_none(conn.app)
    kind = AUTH_LABELS.get(conn.auth_kind, conn.auth_kind).split(" (")[0]
    return {"conn": conn, "app": app, "flows": used.get(conn.pk, []), "oauth": oauth_url(ws, app, conn) if app else None,
            "auth_label": f"{kind} · sandbox" if (conn.config or {}).get("sandbox") and conn.auth_kind != "sandbox" else kind,
            "secret_fields": [f for f in (app.auth_fields if app else ()) if f.secret]}


@workspace_view()
def connections(request, ws):
    used = usage(ws)
    rows = [row(c, ws, used) for c in Connection.objects.in_workspace(ws).order_by("app", "name")]
    return TemplateResponse(request, "connections/list.html", {
        "ws": ws, "rows": rows, "apps": connectable_apps(), "can_edit": request.membership.can_edit})


def render_row(request, ws, conn, **extra):
    ctx = {"ws": ws, "r": row(conn, ws, usage(ws)), "can_edit": request.membership.can_edit, **extra}
    return TemplateResponse(request, "connections/list.html#connection-row", ctx)


# ---------------------------------------------------------------------------------------------
# Adding


def form_context(request, ws, app, kind, values=None, errors=None, name=""):
    kinds = [k for k in app.auth if k != "none"]
    kind = kind if kind in kinds else kinds[0]
    fields = app.auth_fields if kind in ("api_key", "client_credentials", "private_token") else ()
    values, errors = values or {}, errors or {}
    rows = [{"f": f, "value": "" if f.secret else values.get(f.name, ""), "error": errors.get(f.name)} for f in fields]
    return {"ws": ws, "app": app, "kind": kind, "kinds": [(k, AUTH_LABELS.get(k, k)) for k in kinds],
            "fields": fields, "rows": rows, "name": name,
            "oauth": oauth_url(ws, app) if kind == "oauth2" else None,
            "flow_id": request.GET.get("flow") or request.POST.get("flow", ""),
            "step": request.GET.get("step") or request.POST.get("step", ""),
            "apps": connectable_apps()}


@workspace_view(edit=True)
def new_connection(request, ws):
    apps = connectable_apps()
    app = app_or_none(request.GET.get("app", "")) or (apps[0] if apps else None)
    if app is None or app.builtin:
        return error_response(request, "No app needs a connection here.", 404)
    ctx = form_context(request, ws, app, request.GET.get("kind", ""))
    template = "connections/form.html#connection-form" if request.htmx else "connections/form.html"
    return TemplateResponse(request, template, ctx)


@require_POST
@workspace_view(edit=True)
def create_connection(request, ws):
    app = app_or_none(request.POST.get("app", ""))
    if app is None or app.builtin:
        return error_response(request, "Choose an app.")
    ctx = form_context(request, ws, app, request.POST.get("kind", ""))
    values = {f.name: request.POST.get(f.name, "").strip() for f in ctx["fields"]}
    errors = {f.name: "Required." for f in ctx["fields"] if f.required and not values[f.name]}
    name = request.POST.get("name", "").strip()[:200] or f"{app.label} account"
    if errors:
        ctx = form_context(request, ws, app, ctx["kind"], values, errors, name)
        return TemplateResponse(request, "connections/form.html#connection-form" if request.htmx else "connections/form.html", ctx)
    conn = Connection(workspace=ws, app=app.key, name=name, auth_kind=ctx["kind"],
                      config={k: v for k, v in values.items() if not _secret(app, k) and v})
    if ctx["kind"] == "sandbox":
        conn.config["sandbox"] = True
    conn.set_secrets({k: v for k, v in values.items() if _secret(app, k)})
    conn.save()
    check(conn)
    flow_id, sid = ctx["flow_id"], ctx["step"]
    if flow_id.isdigit() and sid:  # added from an editor card: use it there
        flow = get_flow(ws, int(flow_id))
        get_step(flow, sid)
        save_draft(flow, B.update_step(flow.draft, sid, connection=conn.pk))
        response = render_card(request, ws, flow, sid, open=True)
        response["HX-Retarget"], response["HX-Reswap"] = f"#card-{sid}", "outerHTML"
        return response
    messages.success(request, f"Added “{conn.name}”: {conn.get_status_display().lower()}.")
    if request.htmx:
        from django_htmx.http import HttpResponseClientRedirect

        return HttpResponseClientRedirect(reverse("connections", args=[ws.slug]))
    return redirect("connections", slug=ws.slug)


def _secret(app, name) -> bool:
    return next((f.secret for f in app.auth_fields if f.name == name), True)


# ---------------------------------------------------------------------------------------------
# Testing, rotating, deleting


def check(conn: Connection) -> None:
    """Call the app with the connection and record the outcome on it: the connector's own
    `test_connection(credentials)` when it has one, else a harmless read."""
    app = app_or_none(conn.app)
    ok, message = False, "Unknown app."
    if app:
        try:
            ok, message = _probe(app, conn)
        except step_errors.StepError as exc:
            ok, message = False, f"{exc.category}: {exc.message}"
        except Exception as exc:  # noqa: BLE001 - a broken connector shows as an error on the row
            ok, message = False, f"Could not test ({type(exc).__name__})."
    message = redact(str(message), secret_values([conn.secret_values()]))[:500]
    status = Connection.OK if ok else (Connection.NEEDS_REAUTH if message.startswith("auth") else Connection.ERROR)
    conn.status, conn.status_message, conn.last_checked = status, message, timezone.now()
    conn.save(update_fields=["status", "status_message", "last_checked", "updated"])


def _probe(app, conn):
    module_name = app.key if app.key != "http" else "builtin"
    try:
        module = importlib.import_module(f"connectors.{module_name}")
    except ImportError:
        module = None
    tester = getattr(module, "test_connection", None)
    if tester:
        result = tester(conn)
        return (result, "Connected.") if isinstance(result, bool) else tuple(result)
    ops = [op for op in registry.operations(app.key) if op.method == "GET" and not op.required_params and op.kind != "trigger"]
    ops.sort(key=lambda op: (not op.extra.get("test"), not op.curated, op.key))
    if not ops:
        return True, "Saved (this app offers no test call)."
    from ..engine import dispatch

    dispatch(ops[0], StepContext(inputs={}, credentials=conn, workspace_id=conn.workspace_id))
    return True, f"Connected ({ops[0].label} answered)."


@require_POST
@workspace_view(edit=True)
def test_connection(request, ws, conn_id):
    conn = get_object_or_404(Connection.objects.in_workspace(ws), pk=conn_id)
    check(conn)
    if not request.htmx:
        messages.info(request, f"{conn.name}: {conn.status_message}")
        return redirect("connections", slug=ws.slug)
    return render_row(request, ws, conn)


@workspace_view(edit=True)
def rotate_connection(request, ws, conn_id):
    """GET: the new-key form in the row. POST: replace the secret fields (blank ones are kept)."""
    conn = get_object_or_404(Connection.objects.in_workspace(ws), pk=conn_id)
    if request.method != "POST":
        return render_row(request, ws, conn, rotating=True)
    app = app_or_none(conn.app)
    values = {f.name: request.POST.get(f.name, "").strip() for f in (app.auth_fields if app else ()) if f.secret}
    values = {k: v for k, v in values.items() if v}
    if not values:
        return render_row(request, ws, conn, rotating=True, rotate_error="Paste the new key.")
    conn.update_secrets(values)
    conn.refresh_from_db()
    check(conn)
    if not request.htmx:
        messages.success(request, f"New key saved for {conn.name}.")
        return redirect("connections", slug=ws.slug)
    return render_row(request, ws, conn, notice="New key saved.")


@require_POST
@workspace_view(edit=True)
def delete_connection(request, ws, conn_id):
    conn = get_object_or_404(Connection.objects.in_workspace(ws), pk=conn_id)
    flows = usage(ws).get(conn.pk, [])
    if flows:
        return error_response(request, f"“{conn.name}” is used by {', '.join(f.name for f in flows)}. "
                                       "Choose another connection there first.", 409)
    conn.delete()
    if request.htmx:
        from django.http import HttpResponse

        return HttpResponse("")
    return redirect("connections", slug=ws.slug)
