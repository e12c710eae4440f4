"""GoHighLevel instant triggers: the two ways events arrive.

- `POST /hooks/ghl/app`: the one webhook URL of a GoHighLevel marketplace (OAuth) app. Every event
  of every installed location comes here; it is verified (webhook_verify.verify_ghl), then routed by
  `type` and location to each enabled flow whose trigger is that instant event and whose
  connection's `config["location_id"]` (or `company_id` for agency events) matches. One delivery
  (and at most one run) per flow; a duplicate `webhookId` makes no second run.
- `POST /hooks/ghl/<token>`: a flow's own URL, for a GoHighLevel workflow's "Webhook" action (how
  most agencies get instant events without a marketplace app). Those are unsigned: the secret URL
  authenticates. A signature, when sent, must still be valid.

Bodies are accepted flat (`type`, `locationId`, the record's fields) or under `data`. Invalid
signatures get 401 and are logged without the body. Delivery + run are stored (intake.accept)
before the 2xx.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .intake import IntakeError, accept, parse_body
from .models import Connection, Flow
from .triggers import trigger_of
from .webhook_verify import ED_HEADER, RSA_HEADER, SignatureInvalid, verify_ghl

log = logging.getLogger("flowline.ghl_webhooks")
SOURCE = "ghl"
ENVELOPE = ("type", "locationId", "companyId", "webhookId", "timestamp")


def normalize(body: dict) -> dict:
    """The event itself, flat: `body["data"]` when the sender wrapped it, with the envelope fields
    (type, locationId, webhookId, timestamp) kept."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return body if isinstance(body, dict) else {}
    return {**{k: body[k] for k in ENVELOPE if k in body}, **body["data"]}


def location_of(event: dict) -> str:
    """The sub-account an event belongs to (`locationId`, or `altId` when `altType` is location)."""
    if event.get("locationId"):
        return str(event["locationId"])
    if event.get("altType") == "location" and event.get("altId"):
        return str(event["altId"])
    return ""


def instant_event(trigger: dict) -> str | None:
    """The body `type` a flow's trigger listens for, or None when it is not a GHL instant trigger."""
    from .ghl_events import OPERATIONS

    op = next((o for o in OPERATIONS if o.key == trigger.get("operation")), None)
    return op.extra["event"] if op else None


def targets(event: dict) -> list[tuple[Flow, Connection]]:
    """Enabled flows listening for this event's type at this event's location (or company)."""
    kind, location, company = event.get("type"), location_of(event), str(event.get("companyId") or "")
    if not kind or not (location or company):
        return []
    conns = Connection.objects.filter(app="gohighlevel")
    by_location = conns.filter(config__location_id=location) if location else conns.none()
    by_company = conns.filter(config__company_id=company) if company and kind in ("LocationCreate", "UserCreate") \
        else conns.none()
    connections = {c.pk: c for c in list(by_location) + list(by_company)}
    if not connections:
        return []
    workspaces = {c.workspace_id for c in connections.values()}
    out = []
    for flow in Flow.objects.filter(workspace_id__in=workspaces, enabled=True, published__isnull=False) \
            .select_related("published"):
        trigger = trigger_of(flow)
        conn = connections.get(trigger.get("connection"))
        if conn is not None and conn.workspace_id == flow.workspace_id and instant_event(trigger) == kind:
            out.append((flow, conn))
    return out


def _too_big(request):
    length = request.headers.get("Content-Length", "0")
    if length.isdigit() and int(length) > settings.WEBHOOK_MAX_BODY:
        return JsonResponse({"error": f"The body is larger than {settings.WEBHOOK_MAX_BODY} bytes"}, status=413)
    return None


def _rejected(where: str, request, reason: str) -> JsonResponse:
    """401, logged with the reason and sizes only: never the body."""
    log.warning("GoHighLevel webhook %s rejected: %s (%d bytes, from %s)", where, reason, len(request.body),
                request.META.get("REMOTE_ADDR", "?"))
    return JsonResponse({"error": "Invalid signature"}, status=401)


def _error(exc: IntakeError) -> JsonResponse:
    response = JsonResponse({"error": exc.message}, status=exc.status)
    if exc.status == 503:
        response["Retry-After"] = "30"
    return response


def _parse(request) -> dict:
    body = parse_body(request.body, request.headers.get("content-type") or "application/json", {})
    return normalize(body)


@csrf_exempt
@require_POST
def app_hook(request):
    """The marketplace app's webhook URL: verify, route by location, one delivery per flow."""
    too_big = _too_big(request)
    if too_big:
        return too_big
    try:
        event = _parse(request)
    except IntakeError as exc:
        return _error(exc)
    found = targets(event)
    try:
        verify_ghl(request.body, request.headers, sandbox=False)
    except SignatureInvalid as exc:
        found = [(f, c) for f, c in found if (c.config or {}).get("sandbox")]
        if not found:
            return _rejected("app", request, exc.reason)
        try:  # sandbox keys are trusted only for sandbox connections
            verify_ghl(request.body, request.headers, sandbox=True)
        except SignatureInvalid as exc2:
            return _rejected("app", request, exc2.reason)
    answers = []
    for flow, _ in found:
        try:
            answers.append(accept(flow, request.body, request.headers, {}, source=SOURCE, payload=event))
        except IntakeError as exc:
            return _error(exc)
    return JsonResponse({"status": "accepted", "flows": len(found),
                         "runs": [a.get("run_id") for a in answers if a.get("status") == "accepted"]}, status=200)


@csrf_exempt
@require_POST
def flow_hook(request, token):
    """A flow's own GoHighLevel URL (a GoHighLevel workflow's Webhook action)."""
    flow = Flow.objects.select_related("published").filter(webhook_token=token).first()
    if flow is None or flow.published is None or instant_event(trigger_of(flow)) is None:
        return JsonResponse({"error": "Unknown webhook URL"}, status=404)
    if not flow.enabled:
        return JsonResponse({"error": "This flow is switched off"}, status=410)
    too_big = _too_big(request)
    if too_big:
        return too_big
    if request.headers.get(ED_HEADER) or request.headers.get(RSA_HEADER):
        conn = Connection.objects.filter(workspace_id=flow.workspace_id, pk=trigger_of(flow).get("connection")).first()
        try:
            verify_ghl(request.body, request.headers, sandbox=bool(conn and (conn.config or {}).get("sandbox")))
        except SignatureInvalid as exc:
            return _rejected(f"for flow {flow.pk}", request, exc.reason)
    try:
        event = _parse(request)
        wanted = instant_event(trigger_of(flow))
        if _other_event(event, wanted):  # e.g. the TaskCreate a "New contact" flow's own step caused
            return JsonResponse({"status": "ignored", "reason": f"this flow takes {wanted} events"}, status=200)
        answer = accept(flow, request.body, request.headers, request.GET.dict(), source=SOURCE, payload=event)
    except IntakeError as exc:
        return _error(exc)
    return JsonResponse(answer, status=200)


def _other_event(event: dict, wanted: str | None) -> bool:
    """A body that names another GoHighLevel event type than the flow's trigger listens for. Bodies
    without a `type` (a workflow's Webhook action with custom data) are the flow's own."""
    from .ghl_events import BY_EVENT

    kind = event.get("type") if isinstance(event, dict) else None
    return bool(wanted) and isinstance(kind, str) and kind != wanted and kind in BY_EVENT
