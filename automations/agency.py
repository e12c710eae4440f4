"""Agencies: effective roles, templates cloned into client workspaces, updates pushed to clones,
a small JSON diff, and the template export format. No HTTP here (views/agency.py is the UI).

Roles. Agency owner -> "owner" and agency member -> "editor" in every client workspace of their
agency; client editor / viewer come from `Membership`. The highest role wins.

Templates. A template definition is a flow definition where
- a step's `connection` is a slot, `{"$slot": "crm"}`, bound per client to one of its connections;
- strings may hold `{{ vars.NAME }}`, bound per client to a value (a pipeline, a tag, an address).
`build()` substitutes both. A value is data, never code: every `{` in it is written as the mapping
language's literal `{{ "{" }}`, so a value can never open an expression when the flow runs.

Bindings, stored on `TemplateClone`: {"connections": {slot: connection_id}, "variables": {name: value}}.
Updating a clone rebuilds the new version with the same bindings and publishes it on the same Flow,
so the flow's `TriggerState` (its cursor) and webhook URL are kept.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max

from .flows import FlowInvalid, iter_steps, publish
from .models import (AgencyMembership, Connection, Flow, FlowTemplate, Membership, TemplateClone, TemplateVersion,
                     Workspace)
from .redaction import redact, secret_values

TEMPLATE_FORMAT = "flowline.template/1"
VAR_TOKEN = re.compile(r"\{\{\s*vars\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,49}$")
VAR_TYPES = ("text", "email", "choice")

# --- roles ---------------------------------------------------------------------------------------

RANK = {Membership.VIEWER: 0, Membership.EDITOR: 1, Membership.OWNER: 2}
AGENCY_TO_WORKSPACE = {AgencyMembership.OWNER: Membership.OWNER, AgencyMembership.MEMBER: Membership.EDITOR}


def _best(direct: Membership | None, agency_role: str | None, user, workspace) -> Membership | None:
    role = AGENCY_TO_WORKSPACE.get(agency_role)
    if direct and (role is None or RANK[direct.role] >= RANK[role]):
        return direct
    if role is None:
        return None
    m = Membership(user=user, workspace=workspace, role=role)  # never saved: the agency grants it
    m.via_agency = True
    return m


def effective_membership(user, slug: str) -> Membership | None:
    """The user's effective role in the workspace `slug`, or None when they may not see it."""
    ws = Workspace.objects.filter(slug=slug).select_related("agency").first()
    if ws is None or not user.is_authenticated:
        return None
    direct = Membership.objects.filter(user=user, workspace=ws).first()
    agency_role = (AgencyMembership.objects.filter(user=user, agency_id=ws.agency_id).values_list("role", flat=True)
                   .first() if ws.agency_id else None)
    m = _best(direct, agency_role, user, ws)
    if m is not None:
        m.workspace = ws
    return m


def workspaces_for(user) -> list[Membership]:
    """Every workspace the user reaches (effective memberships), agencies' clients grouped first."""
    direct = {m.workspace_id: m for m in Membership.objects.filter(user=user).select_related("workspace__agency")}
    agency_roles = dict(AgencyMembership.objects.filter(user=user).values_list("agency_id", "role"))
    seen = set(direct) | set(Workspace.objects.filter(agency_id__in=agency_roles).values_list("pk", flat=True))
    out = []
    for ws in Workspace.objects.filter(pk__in=seen).select_related("agency"):
        m = _best(direct.get(ws.pk), agency_roles.get(ws.agency_id), user, ws)
        m.workspace = ws
        out.append(m)
    return sorted(out, key=lambda m: (m.workspace.agency is None, m.workspace.agency.name if m.workspace.agency else "",
                                      m.workspace.name.lower()))


def agency_role(user, agency_id) -> str | None:
    if not user.is_authenticated:
        return None
    return AgencyMembership.objects.filter(user=user, agency_id=agency_id).values_list("role", flat=True).first()


# --- inputs: slots and variables -----------------------------------------------------------------

def _all_steps(definition: dict):
    yield definition.get("trigger") or {}
    for _, step in iter_steps(definition.get("steps")):
        yield step


def _walk_strings(value, fn):
    """A copy of JSON `value` with fn applied to every string (dict keys untouched)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _walk_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk_strings(v, fn) for v in value]
    return value


def used_inputs(definition: dict) -> tuple[set, set]:
    """(slots, variable names) a template definition refers to."""
    slots = {s["connection"]["$slot"] for s in _all_steps(definition) if isinstance(s.get("connection"), dict)}
    names = set()
    _walk_strings(definition, lambda s: names.update(VAR_TOKEN.findall(s)) or s)
    return slots, names


def escape_value(value) -> str:
    """Plain text for a mapping template: each `{` becomes a literal block, so no `{{` can form."""
    return str(value).replace("{", '{{ "{" }}')


def build(version: TemplateVersion, bindings: dict, workspace) -> tuple[dict, list[str]]:
    """The client's flow definition from a template version and bindings, and what is missing
    (a slot without a connection of the right app in `workspace`, a variable without a value)."""
    inputs, missing = version.inputs or {}, []
    slots, names = used_inputs(version.definition)
    bound_conns = (bindings or {}).get("connections") or {}
    values = (bindings or {}).get("variables") or {}
    conn_ids = {}
    for slot in sorted(slots):
        spec = (inputs.get("connections") or {}).get(slot) or {}
        cid = bound_conns.get(slot)
        ok = cid and Connection.objects.in_workspace(workspace).filter(pk=_int(cid), app=spec.get("app")).exists()
        if ok:
            conn_ids[slot] = _int(cid)
        else:
            missing.append(f"connection '{spec.get('label') or slot}' ({spec.get('app', '?')})")
    for name in sorted(names):
        if values.get(name) in (None, ""):
            label = ((inputs.get("variables") or {}).get(name) or {}).get("label") or name
            missing.append(f"variable '{label}'")
    definition = _walk_strings(version.definition,
                               lambda s: VAR_TOKEN.sub(lambda m: escape_value(values.get(m.group(1), "")), s))
    for step in _all_steps(definition):
        if isinstance(step.get("connection"), dict):
            step["connection"] = conn_ids.get(step["connection"].get("$slot"))
    return definition, missing


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def default_bindings(version: TemplateVersion, workspace) -> dict:
    """Pre-filled bindings for the wizard: the client's only (or first) connection of each slot's
    app, each variable's declared default."""
    inputs = version.inputs or {}
    conns = {}
    for slot, spec in (inputs.get("connections") or {}).items():
        c = Connection.objects.in_workspace(workspace).filter(app=spec.get("app")).order_by("pk").first()
        if c:
            conns[slot] = c.pk
    values = {n: v.get("default") for n, v in (inputs.get("variables") or {}).items() if v.get("default")}
    return {"connections": conns, "variables": values}


# --- templates from flows, versions ---------------------------------------------------------------

def template_from_flow(flow: Flow, variables: dict | None = None) -> tuple[dict, dict]:
    """(definition, inputs) of a template made from `flow`'s published definition (or draft).
    Each connection becomes a slot named after its app; `variables` {name: {"label", "type",
    "loader", "default", "replace"}} turns every occurrence of the text `replace` into `{{ vars.name }}`.
    Known secret values of the workspace's connections are redacted."""
    definition = copy.deepcopy((flow.published.definition if flow.published else flow.draft) or {})
    conns = {c.pk: c for c in Connection.objects.in_workspace(flow.workspace)}
    slots, by_id = {}, {}
    for step in _all_steps(definition):
        cid = step.get("connection")
        if cid in conns and cid not in by_id:
            app = conns[cid].app
            slot = app if app not in slots else f"{app}_{len(slots) + 1}"
            by_id[cid] = slot
            slots[slot] = {"app": app, "label": f"{app} account"}
        if cid is not None:
            step["connection"] = {"$slot": by_id[cid]} if cid in by_id else None
    declared = {}
    for name, spec in (variables or {}).items():
        if not VAR_NAME.match(name):
            raise FlowInvalid([f"Variable name {name!r}: letters, digits and _ only."])
        needle = spec.get("replace") or ""
        if needle:
            _replace_in_inputs(definition, needle, "{{ vars.%s }}" % name)
        declared[name] = {"label": spec.get("label") or name, "type": spec.get("type") if spec.get("type") in VAR_TYPES
                          else "text", "loader": spec.get("loader") or "", "default": spec.get("default") or ""}
    secrets = secret_values(c.secrets() for c in conns.values() if c.secret_blob)
    return redact(definition, secrets), {"connections": slots, "variables": declared}


def _replace_in_inputs(definition: dict, needle: str, token: str) -> None:
    """Replace text in step inputs, filters and branch conditions only (never ids or operations)."""
    for step in _all_steps(definition):
        for key in ("inputs", "filter"):
            if step.get(key):
                step[key] = _walk_strings(step[key], lambda s: s.replace(needle, token))
        for branch in step.get("branches") or []:
            if branch.get("conditions"):
                branch["conditions"] = _walk_strings(branch["conditions"], lambda s: s.replace(needle, token))


def add_version(template: FlowTemplate, definition: dict, inputs: dict, note: str = "") -> TemplateVersion:
    """A new immutable version; inputs are completed with any slot/variable the definition uses."""
    definition, inputs = copy.deepcopy(definition), copy.deepcopy(inputs or {})
    slots, names = used_inputs(definition)
    for slot in slots:
        inputs.setdefault("connections", {}).setdefault(slot, {"app": "", "label": slot})
    for name in names:
        inputs.setdefault("variables", {}).setdefault(name, {"label": name, "type": "text", "loader": "", "default": ""})
    with transaction.atomic():
        last = template.versions.aggregate(n=Max("number"))["n"] or 0
        return TemplateVersion.objects.create(template=template, number=last + 1, definition=definition,
                                              inputs=inputs, note=note[:200])


# --- cloning and updating --------------------------------------------------------------------------

@dataclass
class CloneReport:
    workspace: Workspace
    flow: Flow | None = None
    missing: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    @property
    def ok(self):
        return self.flow is not None


def clone(version: TemplateVersion, workspace, bindings: dict, user=None, name: str = "") -> CloneReport:
    """Create and publish the template's flow in `workspace` (switched off), or report what is missing.
    The caller has checked that `workspace` belongs to the template's agency."""
    report = CloneReport(workspace)
    definition, report.missing = build(version, bindings, workspace)
    if report.missing:
        return report
    try:
        with transaction.atomic():
            flow = Flow.objects.create(workspace=workspace, name=name or version.template.name, draft=definition,
                                       description=version.template.description, created_by=user)
            publish(flow, user, note=f"From template {version.template.name} v{version.number}")
            TemplateClone.objects.create(template=version.template, workspace=workspace, flow=flow,
                                         version=version, bindings=bindings)
    except FlowInvalid as exc:
        report.problems = exc.problems
        return report
    report.flow = flow
    return report


def clone_many(version: TemplateVersion, targets: list[tuple[Workspace, dict]], user=None) -> list[CloneReport]:
    """One clone per (workspace, bindings); each client succeeds or fails on its own."""
    return [clone(version, ws, bindings, user) for ws, bindings in targets]


def clone_diff(clone_row: TemplateClone, version: TemplateVersion) -> tuple[list, list[str]]:
    """What pushing `version` would change in the clone's published flow, and what is missing."""
    flow = clone_row.flow
    current = (flow.published.definition if flow.published else flow.draft) or {}
    new, missing = build(version, clone_row.bindings, clone_row.workspace)
    return json_diff(current, new), missing


def push_update(clone_row: TemplateClone, version: TemplateVersion, user=None) -> CloneReport:
    """Publish `version` (with the clone's own bindings) as a new FlowVersion of the same Flow."""
    report = CloneReport(clone_row.workspace)
    definition, report.missing = build(version, clone_row.bindings, clone_row.workspace)
    if report.missing:
        return report
    flow = clone_row.flow
    try:
        with transaction.atomic():
            flow.draft = definition
            flow.save(update_fields=["draft", "updated"])
            publish(flow, user, note=f"Template {version.template.name} v{version.number}")
            clone_row.version = version
            clone_row.save(update_fields=["version", "updated"])
    except FlowInvalid as exc:
        report.problems = exc.problems
        return report
    report.flow = flow
    return report


# --- diff ---------------------------------------------------------------------------------------

def json_diff(old, new, path: str = "") -> list[tuple[str, object, object]]:
    """[(path, old, new)] for every leaf that differs. Lists of steps (dicts with an "id") are
    matched by id, other lists by position; a missing side is None."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new), key=str):
            out += json_diff(old.get(k), new.get(k), f"{path}.{k}" if path else str(k))
        return out
    if isinstance(old, list) and isinstance(new, list):
        if all(isinstance(x, dict) and "id" in x for x in old + new):
            a, b = {str(x["id"]): x for x in old}, {str(x["id"]): x for x in new}
            keys = list(a) + [k for k in b if k not in a]
            return [d for k in keys for d in json_diff(a.get(k), b.get(k), f"{path}[{k}]")]
        out = []
        for i in range(max(len(old), len(new))):
            out += json_diff(old[i] if i < len(old) else None, new[i] if i < len(new) else None, f"{path}[{i}]")
        return out
    return [] if old == new else [(path or "(root)", old, new)]


# --- export / import ------------------------------------------------------------------------------

def export_template(version: TemplateVersion) -> dict:
    """`flowline.template/1`: name, description, version, definition (slots, no connection ids),
    inputs. Never a secret, a connection id or a client's bound value."""
    t = version.template
    return {"format": TEMPLATE_FORMAT, "name": t.name, "description": t.description, "version": version.number,
            "note": version.note, "definition": copy.deepcopy(version.definition), "inputs": copy.deepcopy(version.inputs)}


def import_template(data: dict, agency, user=None, template: FlowTemplate | None = None) -> TemplateVersion:
    """A new template (or a new version of `template`, which must be the agency's) from an export.
    A flow export (`flowline.flow/1`) is accepted too: its connections become slots."""
    if not isinstance(data, dict):
        raise FlowInvalid(["Not a JSON object."])
    if data.get("format") == "flowline.flow/1":
        data = _flow_export_as_template(data)
    if data.get("format") != TEMPLATE_FORMAT:
        raise FlowInvalid([f"Not a Flowline template export (format {data.get('format')!r})."])
    definition = data.get("definition")
    if not isinstance(definition, dict) or not isinstance(data.get("inputs", {}), dict):
        raise FlowInvalid(["The export has no definition."])
    definition = copy.deepcopy(definition)
    for step in _all_steps(definition):  # only slots may name a connection: never a raw id
        if step.get("connection") is not None and not isinstance(step["connection"], dict):
            step["connection"] = None
    with transaction.atomic():
        if template is None:
            template = FlowTemplate.objects.create(agency=agency, name=(data.get("name") or "Imported template")[:200],
                                                   description=data.get("description") or "", created_by=user)
        elif template.agency_id != agency.pk:
            raise FlowInvalid(["No such template."])
        return add_version(template, definition, data.get("inputs") or {}, note=data.get("note") or "Imported")


def _flow_export_as_template(data: dict) -> dict:
    definition = copy.deepcopy(data.get("definition") or {})
    refs, slots = data.get("connections") or {}, {}
    for step in _all_steps(definition):
        ref = refs.get(str(step.get("connection")))
        if step.get("connection") is not None:
            step["connection"] = {"$slot": ref["app"]} if ref else None
            if ref:
                slots[ref["app"]] = {"app": ref["app"], "label": ref.get("name") or ref["app"]}
    return {"format": TEMPLATE_FORMAT, "name": data.get("name"), "description": data.get("description"),
            "definition": definition, "inputs": {"connections": slots}}
