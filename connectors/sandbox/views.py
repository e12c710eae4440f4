"""The sandbox API dispatcher (one view for every GoHighLevel path) and the sandbox UI pages.

Request pipeline: log -> auth (401) -> Version (400) -> scopes (401/403) -> rate limit (429) ->
curated? (501) -> spec validation (400/422) -> location check (403) -> handler -> JSON."""
import json
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import events, handlers, keys, ratelimit, spec, store
from .auth import ApiError, authenticate, check_scopes, check_version, location_for
from .models import SandboxLocation, SandboxRequest, SandboxSubscription

log = logging.getLogger(__name__)
handlers.load_routes()


def _json(status: int, body, headers: dict) -> HttpResponse:
    resp = body if isinstance(body, HttpResponse) else JsonResponse(body, status=status, safe=False)
    for k, v in headers.items():
        resp[k] = v
    return resp


def _requested_location(query: dict, body) -> str | None:
    for source in (query, body if isinstance(body, dict) else {}):
        for name in ("locationId", "location_id", "altId"):
            if isinstance(source.get(name), str) and source.get(name):
                return source[name]
    return None


def _handle(request, path: str, record: dict) -> HttpResponse:
    headers: dict = {}
    try:
        op, path_params = spec.find(request.method, path)
        if op is None:
            raise ApiError(404, f"Cannot {request.method} {path}", "Not Found")
        token = authenticate(request.headers)
        record["location"] = token.location
        check_version(op, request.headers)
        check_scopes(op, token)
        headers = ratelimit.consume(token.location_id)
        if not handlers.supported(op):
            raise ApiError(501, f"{op.method} {op.template} is outside Flowline's curated GoHighLevel catalogue; "
                                "the sandbox does not implement it.", "Not Implemented")
        try:
            body = json.loads(request.body) if request.body.strip() else None
        except ValueError:
            raise ApiError(400, "Unexpected token in JSON body")
        query = {k: (v if len(request.GET.getlist(k)) == 1 else request.GET.getlist(k)) for k, v in request.GET.items()}
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if v is not None}
        errors = spec.validate_request(op, path_params, query, body)
        if errors:
            raise ApiError(422, errors, "Unprocessable Entity")
        company = query.get("companyId") or (body.get("companyId") if isinstance(body, dict) else None)
        if company and op.template != "/locations/" and company != token.location.company_id:
            raise ApiError(403, "The token does not have access to this company.")
        location = location_for(token, _requested_location(query, body))
        record["location"] = location
        ctx = handlers.Ctx(location, token, op, path_params, query, body if body is not None else {})
        with transaction.atomic():
            status, result = handlers.dispatch(ctx)
        for event_type, doc in ctx.events:
            try:
                events.emit(location, event_type, doc)
            except Exception:  # a broken subscriber must not break the API call
                log.exception("sandbox event %s failed", event_type)
        record["brief"] = f"{op.method} {op.template}"
        return _json(status, result, headers)
    except ApiError as err:
        record["brief"] = str(err.body.get("message"))[:300]
        return _json(err.status, err.body, getattr(err, "headers", None) or headers)


@csrf_exempt
def api(request, path: str = ""):
    """Every GoHighLevel path, e.g. ``/sandbox/gohighlevel/contacts/`` -> ``/contacts/``."""
    path = "/" + path
    record = {"location": None, "brief": ""}
    try:
        resp = _handle(request, path, record)
    except Exception:
        log.exception("sandbox handler failed for %s %s", request.method, path)
        resp = JsonResponse({"statusCode": 500, "message": "Internal server error"}, status=500)
    resp["traceId"] = store.ghl_id()
    SandboxRequest.objects.create(location=record["location"], method=request.method, path=request.get_full_path()[:500],
                                  status=resp.status_code, brief=record["brief"][:300])
    return resp


# --- UI ----------------------------------------------------------------------------------------

COLUMNS = ["name", "title", "email", "phone", "status", "appointmentStatus", "body", "startTime", "dueDate", "slug",
           "monetaryValue", "value", "key", "direction", "contactId"]


def _rows(location, kind: str):
    docs = [r.data for r in store.records(location, kind).order_by("-created", "-id")[:100]]
    cols = [c for c in COLUMNS if any(c in d for d in docs)][:5]
    return cols, [{"id": d.get("id"), "cells": [str(d.get(c, ""))[:80] for c in cols]} for d in docs]


@login_required
def index(request):
    locations = [{"loc": loc, "counts": sum(store.counts(loc).values())} for loc in SandboxLocation.objects.all()]
    return render(request, "sandbox/index.html", {"locations": locations, "base_path": request.build_absolute_uri("/sandbox/gohighlevel")})


@login_required
@require_POST
def create(request):
    location, _ = store.create_location(request.POST.get("name") or "Brightside Marketing")
    messages.success(request, f"Sandbox location {location.name} created with demo data.")
    return redirect("sandbox:location", location.id)


@login_required
def location_page(request, location_id: str):
    location = get_object_or_404(SandboxLocation, id=location_id)
    counts = store.counts(location)
    kind = request.GET.get("kind") or ("contact" if "contact" in counts else next(iter(counts), ""))
    cols, rows = _rows(location, kind) if kind else ([], [])
    ctx = {"location": location, "counts": counts, "kind": kind, "cols": cols, "rows": rows,
           "tokens": location.tokens.all(), "subscriptions": location.subscriptions.all(),
           "requests": location.requests.all()[:100], "events": location.events.all()[:20],
           "event_types": sorted(events.EVENTS), "base_url": request.build_absolute_uri("/sandbox/gohighlevel"),
           "public_keys": keys.public_keys()}
    if request.htmx and request.GET.get("part") == "requests":
        return render(request, "sandbox/location.html#requests", ctx)
    return render(request, "sandbox/location.html", ctx)


@login_required
@require_POST
def reset_view(request, location_id: str):
    location = get_object_or_404(SandboxLocation, id=location_id)
    store.reset(location)
    messages.success(request, "Sandbox data reset to the demo data set.")
    return redirect("sandbox:location", location.id)


@login_required
@require_POST
def simulate_view(request, location_id: str):
    location = get_object_or_404(SandboxLocation, id=location_id)
    event_type = request.POST.get("event_type", "")
    if event_type not in events.EVENTS:
        messages.error(request, "Unknown event type.")
    else:
        try:
            body = events.simulate(location, event_type, request.POST.get("record_id") or None)
            messages.success(request, f"{event_type} emitted (webhookId {body['webhookId']}).")
        except LookupError as exc:
            messages.error(request, str(exc))
    return redirect("sandbox:location", location.id)


@login_required
@require_POST
def subscribe_view(request, location_id: str):
    location = get_object_or_404(SandboxLocation, id=location_id)
    if request.POST.get("delete"):
        SandboxSubscription.objects.filter(location=location, id=request.POST["delete"]).delete()
    elif request.POST.get("url", "").startswith(("http://", "https://")):
        chosen = [e for e in request.POST.getlist("events") if e in events.EVENTS]
        SandboxSubscription.objects.create(location=location, url=request.POST["url"][:500], events=chosen)
    else:
        messages.error(request, "Enter an http(s) URL.")
    return redirect("sandbox:location", location.id)


