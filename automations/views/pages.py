"""Workspace home, flow page and run page."""
from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from connectors import registry

from ..engine import start_run
from ..models import Flow, Run, StepResult
from ..triggers import sync_state
from .common import first_workspace, workspace_view


@login_required
def home(request):
    ws = first_workspace(request.user, request)
    if ws is None:
        return TemplateResponse(request, "automations/no_workspace.html")
    return redirect("workspace", slug=ws.slug)


def _op_label(key):
    try:
        op = registry.get_operation(key)
        return f"{registry.get_app(op.app).label}: {op.label}"
    except LookupError:
        return key or "Not set"


def _last_runs(ws, flows):
    latest = {}
    for run in Run.objects.in_workspace(ws).filter(flow__in=flows).order_by("flow_id", "-id").distinct():
        latest.setdefault(run.flow_id, run)
        if len(latest) == len(flows):
            break
    return latest


@workspace_view()
def workspace_home(request, ws):
    flows = list(Flow.objects.in_workspace(ws).select_related("published"))
    runs = Run.objects.in_workspace(ws).select_related("flow").order_by("-id")[:20]
    latest = {}
    for f in flows:
        latest[f.pk] = Run.objects.in_workspace(ws).filter(flow=f).order_by("-id").first()
    rows = [{"flow": f, "trigger": _op_label(f.trigger_operation), "last": latest.get(f.pk)} for f in flows]
    return TemplateResponse(request, "automations/workspace.html", {"ws": ws, "rows": rows, "runs": runs})


def _describe(steps, depth=0):
    out = []
    for s in steps or []:
        out.append({"id": s.get("id"), "name": s.get("name") or _op_label(s.get("operation")),
                    "operation": _op_label(s.get("operation")), "depth": depth, "disabled": s.get("disabled", False)})
        for i, b in enumerate(s.get("branches") or []):
            out.append({"id": f"{s.get('id')}/b{i}", "name": f"Branch: {b.get('name') or i + 1}", "operation": "", "depth": depth + 1})
            out.extend(_describe(b.get("steps"), depth + 2))
        out.extend(_describe(s.get("steps"), depth + 1))
    return out


@workspace_view()
def flow_detail(request, ws, flow_id):
    flow = get_object_or_404(Flow.objects.in_workspace(ws).select_related("published"), pk=flow_id)
    definition = (flow.published.definition if flow.published else flow.draft) or {}
    trigger = definition.get("trigger") or {}
    runs = Run.objects.in_workspace(ws).filter(flow=flow).order_by("-id")[:25]
    hook_url = request.build_absolute_uri(reverse("catch_hook", args=[flow.webhook_token]))
    ctx = {"ws": ws, "flow": flow, "trigger": trigger, "trigger_label": _op_label(trigger.get("operation")),
           "steps": _describe(definition.get("steps")), "runs": runs, "hook_url": hook_url,
           "sample": json.dumps((flow.sample_data or {}).get("trigger") or {"email": "jane@example.com", "first_name": "Jane"}, indent=2)}
    return TemplateResponse(request, "automations/flow.html", ctx)


@require_POST
@workspace_view(edit=True)
def toggle_flow(request, ws, flow_id):
    flow = get_object_or_404(Flow.objects.in_workspace(ws), pk=flow_id)
    if not flow.published:
        messages.error(request, "Publish the flow before switching it on.")
    else:
        flow.enabled = not flow.enabled
        flow.save(update_fields=["enabled", "updated"])
        sync_state(flow)
        messages.success(request, f"{flow.name} is {'on' if flow.enabled else 'off'}.")
    return redirect("flow", slug=ws.slug, flow_id=flow.pk)


@require_POST
@workspace_view(edit=True)
def run_now(request, ws, flow_id):
    flow = get_object_or_404(Flow.objects.in_workspace(ws).select_related("published"), pk=flow_id)
    try:
        payload = json.loads(request.POST.get("payload") or "{}")
        if not isinstance(payload, dict):
            raise ValueError("must be a JSON object")
    except ValueError as exc:
        messages.error(request, f"The sample data is not a JSON object: {exc}")
        return redirect("flow", slug=ws.slug, flow_id=flow.pk)
    if not flow.published:
        messages.error(request, "Publish the flow before running it.")
        return redirect("flow", slug=ws.slug, flow_id=flow.pk)
    run = start_run(flow, payload, source="manual")
    return redirect("run", slug=ws.slug, run_id=run.pk)


@workspace_view()
def run_detail(request, ws, run_id):
    run = get_object_or_404(
        Run.objects.in_workspace(ws).select_related("flow", "version", "replay_of").prefetch_related(
            Prefetch("steps", queryset=StepResult.objects.order_by("position", "id"))),
        pk=run_id)
    steps = list(run.steps.all())
    error_step = next((s.label or s.step_id for s in steps if s.path == run.error_step), run.error_step)
    ctx = {"ws": ws, "run": run, "steps": steps, "error_step": error_step, "active": run.status in Run.ACTIVE}
    template = "automations/run.html#run-body" if request.htmx else "automations/run.html"
    response = TemplateResponse(request, template, ctx)
    if request.htmx and not ctx["active"]:
        response.status_code = 286  # htmx: stop polling, the run is over
    return response


def health(request):
    return HttpResponse("ok", content_type="text/plain")
