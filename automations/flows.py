"""Flow definitions: validation, publishing, and the JSON export format.

A definition is JSON:

    {"trigger": {"operation": "webhook.catch_hook", "inputs": {}, "filter": {...}?, "connection": id?},
     "steps": [{"id": "s1", "key": "send", "name": "Send to CRM", "operation": "http.request",
                "connection": null, "inputs": {"url": "...", "body": {"email": "{{ trigger.email }}"}},
                "disabled": false, "retry": {"max_attempts": 5}},
               {"id": "s2", "operation": "flow.paths", "branches": [{"name": "VIP", "conditions": {...},
                "steps": [...]}]},
               {"id": "s3", "operation": "flow.loop", "inputs": {"items": "{{ trigger.items }}"}, "steps": [...]}]}

Export format (`flowline.flow/1`): {"format", "name", "description", "tags", "definition",
"connections": {"<id>": {"app", "name"}}} — connection ids are kept as references with their app and
name, never their secrets; import maps them onto the target workspace's connections by app+name.
"""
from __future__ import annotations

from django.db import transaction

from connectors import registry

from . import conditions, mapping
from .models import Connection, Flow, FlowVersion

EXPORT_FORMAT = "flowline.flow/1"


class FlowInvalid(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def iter_steps(steps, prefix=""):
    for s in steps or []:
        yield prefix + str(s.get("id")), s
        for i, b in enumerate(s.get("branches") or []):
            yield from iter_steps(b.get("steps"), f"{prefix}{s.get('id')}/b{i}/")
        yield from iter_steps(s.get("steps"), f"{prefix}{s.get('id')}[]/")


def validate_definition(definition: dict, workspace=None) -> list[str]:
    """Problems that block publishing: unknown operations, missing required inputs, broken
    mappings, foreign or missing connections, duplicate step ids."""
    problems = []
    trigger = definition.get("trigger") or {}
    if not trigger.get("operation"):
        problems.append("Choose a trigger.")
    steps_with_trigger = [("trigger", trigger)] if trigger else []
    seen = set()
    conn_ids = set(Connection.objects.in_workspace(workspace).values_list("pk", flat=True)) if workspace else None
    for path, step in steps_with_trigger + list(iter_steps(definition.get("steps"))):
        name = step.get("name") or path
        sid = step.get("id", "trigger" if path == "trigger" else None)
        if path != "trigger":
            if not sid:
                problems.append(f"A step has no id ({name}).")
            elif sid in seen:
                problems.append(f"Step id {sid!r} is used twice.")
            seen.add(sid)
        try:
            op = registry.get_operation(step.get("operation") or "")
        except LookupError:
            problems.append(f"{name}: choose an app and an action (unknown {step.get('operation')!r}).")
            continue
        inputs = step.get("inputs") or {}
        if not step.get("disabled"):
            for p in op.required_params:
                if inputs.get(p.name) in (None, "", [], {}):
                    problems.append(f"{name}: '{p.title}' is required.")
        for err in mapping.validate({k: v for k, v in inputs.items() if k not in ("conditions", "branches")}):
            problems.append(f"{name}: {err}")
        for group in [inputs.get("conditions"), step.get("filter")] + [b.get("conditions") for b in step.get("branches") or []]:
            if group:
                problems.extend(f"{name}: {p}" for p in conditions.validate(group))
        if step.get("connection") and conn_ids is not None and step["connection"] not in conn_ids:
            problems.append(f"{name}: the connection does not exist in this workspace.")
    return problems


@transaction.atomic
def publish(flow: Flow, user=None, note="") -> FlowVersion:
    problems = validate_definition(flow.draft, flow.workspace)
    if problems:
        raise FlowInvalid(problems)
    last = FlowVersion.objects.filter(flow=flow).order_by("-number").values_list("number", flat=True).first() or 0
    version = FlowVersion.objects.create(workspace_id=flow.workspace_id, flow=flow, number=last + 1,
                                         definition=flow.draft, created_by=user, note=note)
    flow.published = version
    flow.save(update_fields=["published", "updated"])
    if flow.enabled:
        from .triggers import sync_state

        sync_state(flow)
    return version


def export_flow(flow: Flow) -> dict:
    definition = (flow.published.definition if flow.published else flow.draft) or {}
    refs = {}
    for _, step in [("trigger", definition.get("trigger") or {})] + list(iter_steps(definition.get("steps"))):
        cid = step.get("connection")
        if cid:
            c = Connection.objects.filter(pk=cid, workspace_id=flow.workspace_id).first()
            if c:
                refs[str(cid)] = {"app": c.app, "name": c.name}
    return {"format": EXPORT_FORMAT, "name": flow.name, "description": flow.description, "tags": flow.tags,
            "definition": definition, "connections": refs}


def _rebind(definition: dict, mapping_ids: dict) -> dict:
    import copy

    d = copy.deepcopy(definition)
    for _, step in [("trigger", d.get("trigger") or {})] + list(iter_steps(d.get("steps"))):
        if step.get("connection") is not None:
            step["connection"] = mapping_ids.get(str(step["connection"]))
    return d


@transaction.atomic
def import_flow(data: dict, workspace, user=None, *, publish_now=True) -> tuple[Flow, list[str]]:
    """Create a flow from an export. Returns the flow and the connections that could not be bound."""
    if data.get("format") != EXPORT_FORMAT:
        raise FlowInvalid([f"Not a Flowline flow export (format {data.get('format')!r})."])
    ids, missing = {}, []
    for old_id, ref in (data.get("connections") or {}).items():
        c = Connection.objects.in_workspace(workspace).filter(app=ref.get("app"), name=ref.get("name")).first()
        c = c or Connection.objects.in_workspace(workspace).filter(app=ref.get("app")).first()
        if c:
            ids[old_id] = c.pk
        else:
            missing.append(f"{ref.get('app')}: {ref.get('name')}")
    flow = Flow.objects.create(workspace=workspace, name=data.get("name") or "Imported flow",
                               description=data.get("description", ""), tags=data.get("tags", ""),
                               draft=_rebind(data.get("definition") or {}, ids), created_by=user)
    if publish_now and not missing:
        publish(flow, user, note="Imported")
    return flow, missing
