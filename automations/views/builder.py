"""Builder actions around the editor: the catalogue, option dropdowns, live mapping previews,
testing the trigger and each step, publishing, and versions (history, changes, restore).

Card editing itself is in `views/editor.py`; the flows list in `views/flows_list.py`.
"""
from __future__ import annotations

import json
import time
import uuid

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from connectors import errors as step_errors
from connectors import registry
from connectors.context import StepContext
from connectors.spec import TRIGGER as TRIGGER_KIND

from .. import builder as B
from .. import builder_data, builder_diff, builder_fields
from ..flows import FlowInvalid, publish, validate_definition
from ..models import Connection, FlowVersion, WebhookDelivery
from ..redaction import redact, secret_values
from .common import workspace_view
from .editor import (TRIGGER, app_of, back, editor_context, error_response, get_flow, get_step, needs_connection,
                     op_label, operation, render_card, save_draft, save_form)

SEARCH_LIMIT = 60
RAW_INPUT_KEYS = {"conditions", "branches"}


# ---------------------------------------------------------------------------------------------
# Catalogue: apps first, operations per app on demand, server-side search


def _kind_matches(op, kind) -> bool:
    return (op.kind == TRIGGER_KIND) == (kind == TRIGGER_KIND)


def catalogue_context(kind: str, q: str = "", app_key: str = "", show_all: bool = False) -> dict:
    ops = [op for op in registry.operations() if _kind_matches(op, kind)]
    apps = {a.key: a for a in registry.apps()}
    ctx = {"kind": kind, "q": q, "app_key": app_key}
    if q:
        words = q.lower().split()
        hits = []
        for op in ops:
            app = apps.get(op.app)
            title = f"{app.label if app else ''} {op.label}".lower()
            hay = f"{title} {op.category} {op.area} {op.key} {op.description}".lower()
            if all(w in hay for w in words):
                featured = op.curated or bool(app and app.builtin) or bool((op.extra or {}).get("instant"))
                # the operation named exactly so, then featured ones, then matches in the app/operation
                # name, then by name
                hits.append((op.label.lower() != q.lower(), not featured, not all(w in title for w in words),
                             not op.label.lower().startswith(words[0]), op.label, op))
        hits.sort(key=lambda h: h[:5])
        ctx["results"] = [{"op": h[5], "app": apps.get(h[5].app)} for h in hits[:SEARCH_LIMIT]]
        ctx["more"] = max(0, len(hits) - SEARCH_LIMIT)
    elif app_key:
        mine = [op for op in ops if op.app == app_key]
        # Built-in apps are small: everything is "curated". Big apps show their curated layer first.
        curated = [op for op in mine if op.curated or (apps.get(app_key) and apps[app_key].builtin)]
        rest = [op for op in mine if op not in curated]
        ctx.update(app=apps.get(app_key), groups=_grouped(curated, "category"), rest_count=len(rest),
                   rest_groups=_grouped(rest, "area") if show_all else None, show_all=show_all)
    else:
        counts = {}
        for op in ops:
            counts[op.app] = counts.get(op.app, 0) + 1
        listed = [{"app": a, "count": counts[a.key]} for a in apps.values() if counts.get(a.key)]
        ctx["apps"] = [x for x in listed if not x["app"].builtin]
        ctx["tools"] = [x for x in listed if x["app"].builtin]
    return ctx


def _grouped(ops, attr) -> list[tuple[str, list]]:
    groups: dict[str, list] = {}
    for op in sorted(ops, key=lambda o: (getattr(o, attr) or "Other", o.label)):
        groups.setdefault(getattr(op, attr) or "Other", []).append(op)
    return list(groups.items())


@workspace_view()
def catalogue(request, ws, flow_id, sid):
    flow = get_flow(ws, flow_id)
    get_step(flow, sid)
    kind = TRIGGER_KIND if sid == TRIGGER else "action"
    ctx = catalogue_context(kind, request.GET.get("q", "").strip()[:100], request.GET.get("app", ""),
                            request.GET.get("all") == "1")
    ctx.update(ws=ws, flow=flow, sid=sid)
    return TemplateResponse(request, "builder/catalogue.html#results", ctx)


# ---------------------------------------------------------------------------------------------
# Dropdowns filled by option loaders


def load_options(key: str, credentials, params: dict) -> list[dict]:
    if key == "flow.transforms":
        from ..mapping import FILTERS

        return [{"value": name, "label": name.replace("_", " ")} for name in sorted(FILTERS)]
    from connectors.options import load_options as load

    return load(key, credentials, **params)


@workspace_view()
def field_options(request, ws, flow_id, sid, field):
    flow = get_flow(ws, flow_id)
    step = get_step(flow, sid)
    op = operation(step.get("operation"))
    param = op.param(field) if op else None
    if param is None or not param.options:
        return error_response(request, "This field has no list to load.", 404)
    raw = request.GET.get("connection") or str(step.get("connection") or "")
    conn = Connection.objects.in_workspace(ws).filter(pk=raw).first() if raw.isdigit() else None
    names = {p.name for p in op.params} - {field}  # the other fields' values (a stage list needs its pipeline)
    params = {k: v for k, v in request.GET.items() if k in names and v and "{{" not in v}
    ctx = {"field": field, "sid": sid, "current": request.GET.get(field, ""), "options": [], "error": ""}
    if needs_connection(app_of(op)) and conn is None:
        ctx["error"] = "Choose a connection to load this list."
    else:
        try:
            ctx["options"] = load_options(param.options, conn, params)
        except step_errors.StepError as exc:
            ctx["error"] = f"Could not load the list: {exc.message}"
        except Exception as exc:  # noqa: BLE001 - a loader failing must show, not break the card
            ctx["error"] = f"Could not load the list ({type(exc).__name__})."
    values = {str(o.get("value")) for o in ctx["options"]}
    ctx["current_missing"] = ctx["current"] and ctx["current"] not in values
    return TemplateResponse(request, "builder/fields.html#options", ctx)


# ---------------------------------------------------------------------------------------------
# Live preview of a mapped value


def preview_of(text: str, value, data: dict, definition: dict) -> dict:
    """Chips for the template text and the value it renders to with the sample data."""
    from ..mapping import MappingError, render_value

    out = {"chips": builder_data.chips(text, definition), "has_tokens": "{{" in (text or "")}
    try:
        rendered = render_value(value, data)
        shown = builder_fields.as_text(rendered)
        out["value"] = shown if len(shown) <= 600 else shown[:600] + "…"
        out["empty"] = rendered in (None, "")
    except MappingError as exc:
        out["error"] = str(exc)
    return out


@workspace_view()
def preview(request, ws, flow_id, sid):
    flow = get_flow(ws, flow_id)
    step = get_step(flow, sid)
    op = operation(step.get("operation"))
    field = request.GET.get("field", "")
    param = op.param(field) if op else None
    text = request.GET.get(field, "") if param else request.GET.get("value", "")
    value, error = builder_fields.parse_field(param, text) if param else (text, None)
    data = builder_data.mapping_data(flow.draft or {}, flow.sample_data or {}, sid)
    ctx = {"preview": {"error": error} if error else preview_of(text, value, data, flow.draft or {}),
           "field": field}
    return TemplateResponse(request, "builder/fields.html#preview", ctx)


# ---------------------------------------------------------------------------------------------
# Testing: pull trigger samples, really run one step


def _sample_trigger(request, ws, flow, op):
    """The trigger's sample from pasted JSON, the latest webhook received, or the poller."""
    source = request.POST.get("source", "paste")
    if source == "latest":
        from ..intake import parse_body

        delivery = WebhookDelivery.objects.in_workspace(ws).filter(flow=flow).order_by("-id").first()
        if delivery is None:
            raise ValueError("No request has reached this flow's webhook URL yet. Send one, then try again.")
        payload = parse_body(bytes(delivery.body), delivery.content_type, {})
        if delivery.source == "ghl":  # a GoHighLevel event: the record, flat, as runs see it
            from ..ghl_webhooks import normalize

            payload = normalize(payload)
        return payload
    if source == "poll":
        from ..polling import sample

        items = sample(flow)
        if not items:
            raise ValueError("The app returned no recent items. Create one in the app, then try again.")
        return items[0] if isinstance(items, list) else items
    try:
        payload = json.loads(request.POST.get("sample") or "{}")
    except ValueError as exc:
        raise ValueError(f"The sample is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ValueError("The sample must be a JSON object ({…}).")
    return payload


def run_one_step(ws, flow, sid, step, op) -> dict:
    """Run one step for real with the sample data; returns what the test panel shows."""
    from ..engine import dispatch
    from ..mapping import MappingError, render_value

    definition = flow.draft or {}
    data = builder_data.mapping_data(definition, flow.sample_data or {}, sid)
    conn = Connection.objects.in_workspace(ws).filter(pk=step.get("connection")).first() if step.get("connection") else None
    hide = secret_values([conn.secret_values()]) if conn else []
    test = {"ok": False}
    try:
        inputs = {k: (v if k in RAW_INPUT_KEYS else render_value(v, data)) for k, v in (step.get("inputs") or {}).items()}
    except MappingError as exc:
        return {**test, "category": "mapping", "message": str(exc)}
    if op.key == "flow.paths":
        inputs["branches"] = [{"conditions": b.get("conditions") or {}} for b in step.get("branches") or []]
    test["input"] = redact(inputs, hide)
    ctx = StepContext(inputs=inputs, credentials=conn, idempotency_key=f"test-{uuid.uuid4().hex[:24]}", data=data,
                      workspace_id=ws.pk)
    started = time.monotonic()
    try:
        result = dispatch(op, ctx)
    except step_errors.StepError as exc:
        test.update(category=exc.category, message=redact(exc.message, hide),
                    request=redact(exc.request, hide), response=redact(exc.response, hide))
    except MappingError as exc:
        test.update(category="mapping", message=str(exc))
    except Exception as exc:  # noqa: BLE001 - show it; the worker would record "crashed" the same way
        test.update(category="crashed", message=f"Internal error ({type(exc).__name__})")
    else:
        test.update(ok=True, output=redact(result.output, hide), request=redact(result.request, hide),
                    response=redact(result.response, hide), halt=result.halt)
    test["ms"] = int((time.monotonic() - started) * 1000)
    return test


@require_POST
@workspace_view(edit=True)
def test_step(request, ws, flow_id, sid):
    flow = get_flow(ws, flow_id)
    step = get_step(flow, sid)
    op = operation(step.get("operation"))
    if op is None:
        return error_response(request, "Choose an app and an event before testing.")
    sample = flow.sample_data or {}
    if sid == TRIGGER:
        try:
            payload = _sample_trigger(request, ws, flow, op)
        except ValueError as exc:
            return back(request, ws, flow, lambda: render_card(request, ws, flow, sid, open=True,
                                                              test={"ok": False, "message": str(exc)}))
        except Exception as exc:  # noqa: BLE001 - a poller/app failure shows in the card
            return back(request, ws, flow, lambda: render_card(request, ws, flow, sid, open=True, test={
                "ok": False, "message": getattr(exc, "message", "") or f"Could not pull a sample ({type(exc).__name__})."}))
        sample["trigger"] = payload
        flow.sample_data = sample
        flow.save(update_fields=["sample_data", "updated"])
        test = {"ok": True, "output": payload, "trigger": True}
        return back(request, ws, flow, lambda: render_card(request, ws, flow, sid, open=True, test=test))
    definition, errors = save_form(request, ws, flow, sid) if request.POST else (flow.draft, {})
    step = B.find(definition, sid)
    if errors:
        return back(request, ws, flow, lambda: render_card(request, ws, flow, sid, open=True, errors=errors,
                                                          test={"ok": False, "message": "Fix the fields marked below, then test again."}))
    test = run_one_step(ws, flow, sid, step, op)
    if test["ok"]:
        sample.setdefault("steps", {})[sid] = test["output"]
        flow.sample_data = sample
        flow.save(update_fields=["sample_data", "updated"])
    return back(request, ws, flow, lambda: render_card(request, ws, flow, sid, open=True, test=test))


# ---------------------------------------------------------------------------------------------
# Publishing and versions


def publish_problems(ws, definition) -> list[str]:
    """Everything that blocks publishing: the definition's own checks plus connections (missing,
    lacking the scopes an operation needs)."""
    problems = validate_definition(definition, ws)
    conns = {c.pk: c for c in Connection.objects.in_workspace(ws)}
    for step in [definition.get("trigger") or {}] + B.all_steps(definition):
        op = operation(step.get("operation"))
        if op is None or step.get("disabled"):
            continue
        name = step.get("name") or ("Trigger" if step is definition.get("trigger") else op.label)
        conn = conns.get(step.get("connection"))
        if needs_connection(app_of(op)) and conn is None:
            problems.append(f"{name}: choose a {app_of(op).label} connection.")
        granted = set((conn.config or {}).get("scopes") or []) if conn else set()
        lacking = [s for s in op.scopes if granted and s not in granted]
        if lacking:
            problems.append(f"{name}: the connection '{conn.name}' lacks the scopes {', '.join(lacking)}; re-authorise it.")
    return list(dict.fromkeys(problems))


def render_head(request, ws, flow, **kw):
    return TemplateResponse(request, "builder/editor.html#flow-head", editor_context(request, ws, flow, **kw))


@require_POST
@workspace_view(edit=True)
def publish_flow(request, ws, flow_id):
    flow = get_flow(ws, flow_id)
    problems = publish_problems(ws, flow.draft or {})
    version = None
    if not problems:
        try:
            version = publish(flow, request.user, note=request.POST.get("note", "").strip()[:200])
        except FlowInvalid as exc:
            problems = exc.problems
        flow.refresh_from_db()
    if not request.htmx:
        if problems:
            messages.error(request, "Not published: " + " ".join(problems))
        else:
            messages.success(request, f"Published version {version.number}.")
        return redirect("builder_editor", slug=ws.slug, flow_id=flow.pk)
    return render_head(request, ws, flow, problems=problems, published=version)


@workspace_view()
def versions(request, ws, flow_id):
    flow = get_flow(ws, flow_id)
    items = list(FlowVersion.objects.in_workspace(ws).filter(flow=flow).select_related("created_by").order_by("-number"))
    rows = []
    for i, v in enumerate(items):
        previous = items[i + 1].definition if i + 1 < len(items) else None
        rows.append({"version": v, "changes": builder_diff.diff(previous, v.definition, op_label), "live": flow.published_id == v.pk})
    draft_changes = builder_diff.diff(flow.published.definition if flow.published else None, flow.draft or {}, op_label)
    ctx = {"ws": ws, "flow": flow, "rows": rows, "draft_changes": draft_changes,
           "can_edit": request.membership.can_edit}
    template = "builder/versions.html#versions" if request.htmx else "builder/versions.html"
    return TemplateResponse(request, template, ctx)


@require_POST
@workspace_view(edit=True)
def restore_version(request, ws, flow_id, number):
    flow = get_flow(ws, flow_id)
    version = get_object_or_404(FlowVersion.objects.in_workspace(ws).filter(flow=flow), number=number)
    with transaction.atomic():
        save_draft(flow, json.loads(json.dumps(version.definition)))
    message = f"Version {version.number} is back in the draft. Publish it to make it live."
    if not request.htmx:
        messages.success(request, message)
        return redirect("builder_editor", slug=ws.slug, flow_id=flow.pk)
    ctx = editor_context(request, ws, flow)
    ctx["notice"] = message
    return TemplateResponse(request, "builder/editor.html#editor-body", ctx)
