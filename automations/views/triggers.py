"""The trigger panel of a flow page: poll log, held batches (release/discard), "test trigger" and
"start from a date". Read views need membership; every change needs the editor role and POST."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from .. import polling
from ..ghl_webhooks import instant_event
from ..models import Flow, HeldBatch, PollLog, TriggerState
from ..triggers import trigger_of
from .common import workspace_view

PANEL = "automations/_trigger_panel.html"


def _flow(ws, flow_id):
    return get_object_or_404(Flow.objects.in_workspace(ws).select_related("published"), pk=flow_id)


def panel_context(ws, flow) -> dict:
    trigger = trigger_of(flow)
    state = TriggerState.objects.filter(flow=flow).first()
    cursor = (state.cursor if state else None) or {}
    return {"ws": ws, "flow": flow, "panel": {
        "polling": polling.is_polling(trigger) if trigger.get("operation") else False,
        "instant": instant_event(trigger) is not None,
        "interval": (trigger.get("poll") or {}).get("interval_minutes") or 5,
        "state": state, "seeded": bool(cursor.get("seeded")), "start_from": cursor.get("start_from"),
        "logs": PollLog.objects.in_workspace(ws).filter(flow=flow)[:20],
        "held": HeldBatch.objects.in_workspace(ws).filter(flow=flow, status=HeldBatch.HELD)[:10],
        "samples": (flow.sample_data or {}).get("items") or [],
        "ghl_url": reverse("ghl_flow_hook", args=[flow.webhook_token]),
    }}


@workspace_view()
def trigger_panel(request, ws, flow_id):
    return TemplateResponse(request, PANEL, panel_context(ws, _flow(ws, flow_id)))


def _back(request, ws, flow):
    if request.htmx:
        return TemplateResponse(request, PANEL, panel_context(ws, flow))
    return redirect("flow", slug=ws.slug, flow_id=flow.pk)


@require_POST
@workspace_view(edit=True)
def test_trigger(request, ws, flow_id):
    """Fetch up to 5 recent items (or the last 5 deliveries) as the flow's sample data."""
    flow = _flow(ws, flow_id)
    try:
        items = polling.sample(flow)
    except Exception as exc:  # noqa: BLE001 - an app failure is shown, not raised
        messages.error(request, getattr(exc, "message", "") or f"Could not pull samples ({type(exc).__name__}).")
    else:
        messages.success(request, f"Saved {len(items)} sample item{'s' if len(items) != 1 else ''}." if items else
                         "Nothing recent to sample yet: create a record in the app (or send an event), then try again.")
    return _back(request, ws, flow)


@require_POST
@workspace_view(edit=True)
def start_from(request, ws, flow_id):
    """Re-seed the trigger: nothing old fires, or (with a date) every item since that date."""
    flow = _flow(ws, flow_id)
    when = (request.POST.get("start_from") or "").strip() or None
    if when and polling.to_timestamp(when) is None:
        messages.error(request, "Enter the date as YYYY-MM-DD or YYYY-MM-DDTHH:MM.")
    else:
        polling.restart_from(flow, when)
        messages.success(request, f"The next poll starts from {when}." if when else "The next poll starts from now.")
    return _back(request, ws, flow)


@require_POST
@workspace_view(edit=True)
def decide_batch(request, ws, flow_id, batch_id, action):
    if action not in ("release", "discard"):
        raise Http404("Unknown action")
    flow = _flow(ws, flow_id)
    batch = get_object_or_404(HeldBatch.objects.in_workspace(ws), pk=batch_id, flow=flow)
    if action == "release":
        made = polling.release(batch)
        messages.success(request, f"Released: {made} run{'s' if made != 1 else ''} started.")
    else:
        polling.discard(batch)
        messages.success(request, "Discarded: those items will not run.")
    return _back(request, ws, flow)
