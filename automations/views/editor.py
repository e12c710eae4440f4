"""The flow editor: a vertical list of cards (the trigger, then the steps), each expandable.

Every change is an htmx POST that edits `Flow.draft` (through the pure helpers in
`automations/builder.py` and `builder_fields.py`) and answers with the partial it changed: one card
(`builder/editor.html#step-card`) or the whole step list (`#steps`). Without htmx the same POSTs
redirect back to the editor. Testing, previews, publishing and versions live in `views/builder.py`.
"""
from __future__ import annotations

import json

from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from connectors import registry
from connectors.spec import TRIGGER as TRIGGER_KIND

from .. import builder as B
from .. import builder_data, builder_fields
from ..models import Connection, Flow
from .common import workspace_view

TRIGGER = B.TRIGGER
NO_AUTH = {"none", ""}


# ---------------------------------------------------------------------------------------------
# Lookups


def get_flow(ws, flow_id) -> Flow:
    return get_object_or_404(Flow.objects.in_workspace(ws).select_related("published"), pk=flow_id)


def operation(key):
    try:
        return registry.get_operation(key or "")
    except LookupError:
        return None


def app_of(op):
    try:
        return registry.get_app(op.app) if op else None
    except LookupError:
        return None


def needs_connection(app) -> bool:
    return bool(app) and not app.builtin and not set(app.auth) <= NO_AUTH


def op_label(key) -> str:
    op = operation(key)
    app = app_of(op)
    return f"{app.label}: {op.label}" if op and app else (key or "")


def save_draft(flow: Flow, definition: dict) -> None:
    flow.draft = definition
    flow.save(update_fields=["draft", "updated"])


def edit_url(ws, flow) -> str:
    return reverse("builder_editor", args=[ws.slug, flow.pk])


def get_step(flow, sid) -> dict:
    from django.http import Http404

    try:
        return B.find(json.loads(json.dumps(flow.draft or {})), sid)
    except B.EditError:
        raise Http404("No such step") from None


# ---------------------------------------------------------------------------------------------
# Card context: what one card shows


def number_of(definition, sid) -> int:
    ids = [s["id"] for s in B.all_steps(definition)]
    return ids.index(sid) + 1 if sid in ids else 0


def card_context(request, ws, flow, sid, *, open=False, choosing=False, errors=None, test=None, saved=False):
    definition = flow.draft or {}
    step = get_step(flow, sid)
    op = operation(step.get("operation"))
    app = app_of(op)
    is_trigger = sid == TRIGGER
    sample = flow.sample_data or {}
    tested = (sample.get("trigger") is not None) if is_trigger else sid in (sample.get("steps") or {})
    inputs = step.get("inputs") or {}
    c = {"ws": ws, "flow": flow, "sid": sid, "step": step, "op": op, "app": app, "is_trigger": is_trigger,
         "number": 0 if is_trigger else number_of(definition, sid), "open": open, "tested": tested,
         "missing": builder_fields.missing_required(op, inputs) if op and not step.get("disabled") else [],
         "errors": errors or {}, "test": test, "saved": saved, "can_edit": request.membership.can_edit}
    c["title"] = (step.get("name") or (op.label if op else "")) or ("Choose a trigger" if is_trigger else "Choose an action")
    if not open:
        return c
    if op is None or choosing:
        from .builder import catalogue_context

        c["catalogue"] = catalogue_context(TRIGGER_KIND if is_trigger else "action", "")
        c["choosing"] = True
        return c
    data = builder_data.mapping_data(definition, sample, sid)
    fields = builder_fields.fields_for(op, inputs)
    from .builder import preview_of

    for f in fields:
        f.error = (errors or {}).get(f.name, "")
        if f.widget == "conditions":
            f.groups = builder_fields.condition_rows(inputs.get(f.name))
        if f.widget in ("text", "textarea", "json") and f.mapped:
            f.preview = preview_of(f.value, f.raw, data, definition)
    c.update(
        required_fields=[f for f in fields if f.required], optional_fields=[f for f in fields if not f.required],
        sources=builder_data.picker_sources(definition, sid, sample, operation),
        branches=[{"index": i, "name": b.get("name", ""), "groups": builder_fields.condition_rows(b.get("conditions")),
                   "prefix": f"c-b{i}", "target": f"b{i}"}
                  for i, b in enumerate(step.get("branches") or [])] if op.key == "flow.paths" else [],
        operators=condition_operators(),
        needs_connection=needs_connection(app),
        connections=list(Connection.objects.in_workspace(ws).filter(app=op.app).order_by("name")) if needs_connection(app) else [],
    )
    conn = next((x for x in c["connections"] if x.pk == step.get("connection")), None)
    c["connection"] = conn
    have = set((conn.config or {}).get("scopes") or []) if conn else set()
    c["missing_scopes"] = [s for s in op.scopes if have and s not in have]
    if is_trigger:
        c["webhook_url"] = request.build_absolute_uri(reverse("catch_hook", args=[flow.webhook_token]))
        c["sample_json"] = json.dumps(sample.get("trigger") if sample.get("trigger") is not None else
                                      {"email": "jane@example.com", "first_name": "Jane", "tags": ["lead"]}, indent=2)
        c["polling"] = bool(op.poll)
        c["instant"] = op.key.startswith("gohighlevel.event.")  # a GoHighLevel instant (webhook) event
        if c["instant"]:
            from ..polling import _instant_lister

            c["ghl_url"] = request.build_absolute_uri(reverse("ghl_flow_hook", args=[flow.webhook_token]))
            c["can_pull"] = _instant_lister(op) is not None
        else:
            c["can_pull"] = c["polling"]
    elif sid in (sample.get("steps") or {}) and test is None:
        c["last_output"] = sample["steps"][sid]
    return c


def condition_operators() -> list[tuple[str, str, bool]]:
    """(name, label, unary) of each condition operator; unary ones ("exists") hide the right side."""
    from ..conditions import OPERATORS

    return [(name, spec.get("label") or name, bool(spec.get("unary"))) for name, spec in OPERATORS.items()]


def render_card(request, ws, flow, sid, **kw):
    ctx = {"c": card_context(request, ws, flow, sid, **kw), "ws": ws, "flow": flow}
    return TemplateResponse(request, "builder/editor.html#step-card", ctx)


# ---------------------------------------------------------------------------------------------
# The step tree


def nodes(request, ws, flow, steps, open_sid=None):
    """The tree the step list template walks: each card, then its branches or loop body."""
    out = []
    for step in steps or []:
        node = {"card": card_context(request, ws, flow, step["id"], open=step["id"] == open_sid), "branches": [], "body": None}
        if step.get("operation") == "flow.paths":
            node["branches"] = [{"name": b.get("name") or f"Path {i + 1}", "container": f"{step['id']}/b{i}",
                                 "nodes": nodes(request, ws, flow, b.get("steps"), open_sid)}
                                for i, b in enumerate(step.get("branches") or [])]
        elif step.get("operation") == "flow.loop":
            node["body"] = {"container": step["id"], "nodes": nodes(request, ws, flow, step.get("steps"), open_sid)}
        out.append(node)
    return out


def editor_context(request, ws, flow, open_sid=None, problems=None, published=None):
    definition = flow.draft or {}
    open_sid = open_sid or (TRIGGER if not (definition.get("trigger") or {}).get("operation") else None)
    return {"ws": ws, "flow": flow, "can_edit": request.membership.can_edit,
            "trigger": card_context(request, ws, flow, TRIGGER, open=open_sid == TRIGGER),
            "nodes": nodes(request, ws, flow, definition.get("steps"), open_sid),
            "dirty": bool(flow.published) and flow.published.definition != definition,
            "problems": problems, "published_now": published,
            "sample_trigger": json.dumps((flow.sample_data or {}).get("trigger") or {})}


def render_steps(request, ws, flow, open_sid=None):
    return TemplateResponse(request, "builder/editor.html#steps", editor_context(request, ws, flow, open_sid))


def back(request, ws, flow, partial):
    """htmx gets the partial; a plain form POST goes back to the editor page."""
    return partial() if request.htmx else redirect(edit_url(ws, flow))


# ---------------------------------------------------------------------------------------------
# Views


@workspace_view()
def editor(request, ws, flow_id):
    flow = get_flow(ws, flow_id)
    ctx = editor_context(request, ws, flow, open_sid=request.GET.get("open"))
    return TemplateResponse(request, "builder/editor.html", ctx)


@workspace_view()
def step_card(request, ws, flow_id, sid):
    """GET a card, open (`?open=1`) or closed, or with the catalogue (`?choose=1`)."""
    flow = get_flow(ws, flow_id)
    if not request.htmx:
        return redirect(edit_url(ws, flow) + f"?open={sid}#card-{sid}")
    return render_card(request, ws, flow, sid, open=request.GET.get("open") == "1" or request.GET.get("choose") == "1",
                       choosing=request.GET.get("choose") == "1")


@require_POST
@workspace_view(edit=True)
def add_step(request, ws, flow_id):
    flow = get_flow(ws, flow_id)
    try:
        index = int(request.POST["index"]) if request.POST.get("index", "").isdigit() else None
        definition, sid = B.add_step(flow.draft or {}, request.POST.get("operation", ""),
                                     container=request.POST.get("container", ""), index=index)
    except B.EditError as exc:
        return error_response(request, str(exc))
    save_draft(flow, definition)
    return back(request, ws, flow, lambda: render_steps(request, ws, flow, open_sid=sid))


@require_POST
@workspace_view(edit=True)
def move_step(request, ws, flow_id, sid):
    flow = get_flow(ws, flow_id)
    get_step(flow, sid)
    try:
        if request.POST.get("to", "").isdigit():
            definition = B.move_step(flow.draft, sid, to=int(request.POST["to"]))
        else:
            definition = B.move_step(flow.draft, sid, -1 if request.POST.get("direction") == "up" else 1)
    except B.EditError as exc:
        return error_response(request, str(exc))
    save_draft(flow, definition)
    return back(request, ws, flow, lambda: render_steps(request, ws, flow))


@require_POST
@workspace_view(edit=True)
def delete_step(request, ws, flow_id, sid):
    flow = get_flow(ws, flow_id)
    get_step(flow, sid)
    save_draft(flow, B.delete_step(flow.draft, sid))
    sample = flow.sample_data or {}
    if sid in (sample.get("steps") or {}):
        sample["steps"].pop(sid)
        Flow.objects.filter(pk=flow.pk).update(sample_data=sample)
    return back(request, ws, flow, lambda: render_steps(request, ws, flow))


@require_POST
@workspace_view(edit=True)
def toggle_step(request, ws, flow_id, sid):
    flow = get_flow(ws, flow_id)
    step = get_step(flow, sid)
    save_draft(flow, B.update_step(flow.draft, sid, disabled=not step.get("disabled")))
    return back(request, ws, flow, lambda: render_card(request, ws, flow, sid))


@require_POST
@workspace_view(edit=True)
def choose_operation(request, ws, flow_id, sid):
    flow = get_flow(ws, flow_id)
    get_step(flow, sid)
    op = operation(request.POST.get("operation"))
    if op is None or (sid == TRIGGER) != (op.kind == TRIGGER_KIND):
        return error_response(request, "Choose one of the listed events or actions.")
    definition = B.set_operation(flow.draft or {}, sid, op.key, op.label)
    if needs_connection(app_of(op)):  # one connection of that app: pick it
        conns = list(Connection.objects.in_workspace(ws).filter(app=op.app).values_list("pk", flat=True)[:2])
        if len(conns) == 1:
            definition = B.update_step(definition, sid, connection=conns[0])
    save_draft(flow, definition)
    if op.key in B.CONTAINERS:  # Paths and Loop add room for sub-steps: redraw the list
        return back(request, ws, flow, lambda: render_steps(request, ws, flow, open_sid=sid))
    return back(request, ws, flow, lambda: render_card(request, ws, flow, sid, open=True))


def read_inputs(request, op, step) -> tuple[dict, dict]:
    """Inputs from the card form, and errors by field name."""
    inputs, errors = {}, {}
    for param in op.user_params:
        widget = builder_fields.widget_for(param)
        if widget == "conditions":
            inputs[param.name] = builder_fields.conditions_from_form(request.POST, f"c-{param.name}")
            continue
        if param.name not in request.POST:
            if param.name in (step.get("inputs") or {}):
                inputs[param.name] = step["inputs"][param.name]
            continue
        value, error = builder_fields.parse_field(param, request.POST.get(param.name))
        if value is not None:
            inputs[param.name] = value
        if error:
            errors[param.name] = error
    return inputs, errors


def mapping_errors(inputs: dict) -> dict:
    try:
        from ..mapping import validate
    except ImportError:
        return {}
    out = {}
    for name, value in inputs.items():
        if name in ("conditions", "branches"):
            continue
        problems = validate(value)
        if problems:
            out[name] = "; ".join(str(p) for p in problems)
    return out


def apply_actions(request, step) -> None:
    """Buttons inside the form that add or remove condition rows, groups and branches."""
    action = request.POST.get("action", "")
    kind, _, arg = action.partition(":")
    blank = {"left": "", "op": "exists", "right": ""}
    if kind == "add_branch":
        branches = step.setdefault("branches", [])
        branches.append(B.new_branch(f"Path {chr(65 + len(branches))}"))
        return
    if kind == "remove_branch" and arg.isdigit():
        branches = step.get("branches") or []
        if int(arg) < len(branches) and not branches[int(arg)].get("steps"):
            branches.pop(int(arg))
        return
    if kind not in ("add_group", "add_row"):
        return
    target, _, group = arg.partition(":")
    if target.startswith("b") and target[1:].isdigit():
        branches = step.get("branches") or []
        if int(target[1:]) >= len(branches):
            return
        holder = branches[int(target[1:])]
    else:
        holder = step.setdefault("inputs", {})
    key = "conditions"
    conds = holder.get(key) or {"any": []}
    groups = conds.setdefault("any", [])
    if kind == "add_group":
        groups.append({"all": [dict(blank)]})
    elif kind == "add_row" and group.isdigit():
        while len(groups) <= int(group):
            groups.append({"all": []})
        groups[int(group)].setdefault("all", []).append(dict(blank))
    holder[key] = conds


@require_POST
@workspace_view(edit=True)
def save_step(request, ws, flow_id, sid):
    flow = get_flow(ws, flow_id)
    definition, errors = save_form(request, ws, flow, sid)
    return back(request, ws, flow, lambda: render_card(request, ws, flow, sid, open=True, errors=errors,
                                                      saved=not errors))


def save_form(request, ws, flow, sid):
    """Save the card form into the draft; returns (definition, errors). Used by save and test."""
    definition = json.loads(json.dumps(flow.draft or {}))
    get_step(flow, sid)  # 404 for an unknown step
    step = B.find(definition, sid)  # a live reference into `definition`
    op = operation(step.get("operation"))
    if op is None:
        return definition, {"__all__": "Choose an app and an event first."}
    inputs, errors = read_inputs(request, op, step)
    errors.update({k: v for k, v in mapping_errors(inputs).items() if k not in errors})
    step["inputs"] = inputs
    if "connection" in request.POST:
        raw = request.POST["connection"]
        conn = Connection.objects.in_workspace(ws).filter(pk=raw, app=op.app).first() if raw.isdigit() else None
        step["connection"] = conn.pk if conn else None
    for i, branch in enumerate(step.get("branches") or []):
        branch["name"] = request.POST.get(f"branch-{i}-name", branch.get("name", "")).strip() or f"Path {i + 1}"
        if any(k.startswith(f"c-b{i}-") for k in request.POST):
            branch["conditions"] = builder_fields.conditions_from_form(request.POST, f"c-b{i}")
    apply_actions(request, step)
    name = request.POST.get("name", "").strip()[:200]
    if sid != TRIGGER and name and name != step.get("name"):
        definition = B.rename_step(definition, sid, name)
    if not request.POST.get("action"):  # a plain save or test: say what is still missing
        errors.update({p: "Required." for p in builder_fields.missing_required(op, inputs) if p not in errors})
    save_draft(flow, definition)
    return definition, errors


def error_response(request, message: str, status: int = 422):
    """A refused edit: a short text/plain message, which app.js shows in the toast (never silence)."""
    from django.http import HttpResponse

    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
