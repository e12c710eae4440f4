"""Pure helpers behind the flow builder: edit the draft definition, describe fields, list mappable
data, and compare two definitions. No requests, no database: the views in `views/editor.py` call
these on `Flow.draft` (format in flows.py) and `Flow.sample_data`.

`Flow.sample_data` is `{"trigger": <payload>, "steps": {"<step id>": <output>}}`: the trigger part is
pulled by "test trigger" (webhook delivery, pasted JSON, or `automations.polling.sample`), each step
part by "test step".

Step addresses: a *container* holds a list of steps: "" is the top level, "s3/b0" branch 0 of the
Paths step s3, "s4" the inner steps of the Loop step s4. Step ids ("s1", "s2"...) are unique in the
whole flow, so a step is found by id alone.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from django.utils.text import slugify

TRIGGER = "trigger"
CONTAINERS = {"flow.paths": "branches", "flow.loop": "steps"}
TOKEN = re.compile(r"\{\{(.*?)\}\}", re.S)  # display only (chips); evaluation is mapping.py's job


class EditError(ValueError):
    """An edit that makes no sense (unknown step, move past the end)."""


# ---------------------------------------------------------------------------------------------
# Walking the definition


def walk(steps, parent=""):
    """Yield (container, index, step) for every step, depth first, in display order."""
    for index, step in enumerate(steps or []):
        yield parent, index, step
        for b, branch in enumerate(step.get("branches") or []):
            yield from walk(branch.get("steps"), f"{step['id']}/b{b}")
        if step.get("operation") == "flow.loop":
            yield from walk(step.get("steps"), step["id"])


def all_steps(definition) -> list[dict]:
    return [s for _, _, s in walk(definition.get("steps"))]


def container_list(definition: dict, container: str) -> list:
    """The list of steps `container` names (created on demand for loops and branches)."""
    if not container:
        return definition.setdefault("steps", [])
    sid, _, branch = container.partition("/b")
    step = find(definition, sid)
    if branch:
        branches = step.setdefault("branches", [])
        index = int(branch)
        if index >= len(branches):
            raise EditError(f"No branch {index} in {sid}")
        return branches[index].setdefault("steps", [])
    if step.get("operation") != "flow.loop":
        raise EditError(f"{sid} holds no steps")
    return step.setdefault("steps", [])


def locate(definition: dict, sid: str) -> tuple[list, int]:
    """The list holding step `sid` and its index there."""
    for container, index, step in walk(definition.get("steps")):
        if step.get("id") == sid:
            return container_list(definition, container), index
    raise EditError(f"No step {sid!r}")


def find(definition: dict, sid: str) -> dict:
    if sid == TRIGGER:
        return definition.setdefault("trigger", {})
    holder, index = locate(definition, sid)
    return holder[index]


def chain(definition: dict, sid: str) -> list[tuple[list, int]]:
    """(list, index) pairs from the top level down to step `sid`: the ancestors of `sid` and itself."""
    def search(steps):
        for index, step in enumerate(steps or []):
            if step.get("id") == sid:
                return [(steps, index)]
            inner = [b.get("steps") or [] for b in step.get("branches") or []]
            if step.get("operation") == "flow.loop":
                inner.append(step.get("steps") or [])
            for sub in inner:
                found = search(sub)
                if found:
                    return [(steps, index)] + found
        return None

    found = search(definition.get("steps"))
    if found is None:
        raise EditError(f"No step {sid!r}")
    return found


def earlier_steps(definition: dict, sid: str) -> list[dict]:
    """Steps whose output step `sid` can map: earlier siblings at each level and its ancestors
    (Paths, Loop). Inner steps of earlier branches and loops are left out: they may not have run."""
    if sid == TRIGGER:
        return []
    out = []
    levels = chain(definition, sid)
    for depth, (steps, index) in enumerate(levels):
        out.extend(steps[:index])
        if depth < len(levels) - 1:
            out.append(steps[index])
    return out


def loop_of(definition: dict, sid: str) -> dict | None:
    """The innermost Loop step around `sid`, if any."""
    if sid == TRIGGER:
        return None
    ancestors = [steps[i] for steps, i in chain(definition, sid)[:-1]]
    return next((s for s in reversed(ancestors) if s.get("operation") == "flow.loop"), None)


# ---------------------------------------------------------------------------------------------
# Draft edits: each returns a new definition (the input is never mutated)


def next_id(definition: dict) -> str:
    numbers = [int(s["id"][1:]) for s in all_steps(definition) if re.fullmatch(r"s\d+", str(s.get("id", "")))]
    return f"s{max(numbers, default=0) + 1}"


def unique_key(definition: dict, name: str, sid: str | None = None) -> str:
    base = slugify(name).replace("-", "_")[:40] or "step"
    if base[0].isdigit():
        base = "s_" + base
    taken = {s.get("key") for s in all_steps(definition) if s.get("id") != sid} | {s.get("id") for s in all_steps(definition)}
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def add_step(definition: dict, operation: str = "", *, container: str = "", index: int | None = None,
             name: str = "") -> tuple[dict, str]:
    d = copy.deepcopy(definition)
    sid = next_id(d)
    step = {"id": sid, "name": name or "", "operation": operation, "connection": None, "inputs": {}, "disabled": False}
    if name:
        step["key"] = unique_key(d, name, sid)
    if operation == "flow.paths":
        step["branches"] = [new_branch("Path A"), new_branch("Path B")]
    elif operation == "flow.loop":
        step["steps"] = []
    holder = container_list(d, container)
    holder.insert(len(holder) if index is None else max(0, min(index, len(holder))), step)
    return d, sid


def new_branch(name: str) -> dict:
    return {"name": name, "conditions": {"any": [{"all": [{"left": "", "op": "exists", "right": ""}]}]}, "steps": []}


def move_step(definition: dict, sid: str, delta: int = 0, *, to: int | None = None) -> dict:
    """Move a step up/down (`delta`) or to position `to` inside its own container."""
    d = copy.deepcopy(definition)
    holder, index = locate(d, sid)
    target = to if to is not None else index + delta
    if not 0 <= target < len(holder):
        raise EditError("The step cannot move further.")
    holder.insert(target, holder.pop(index))
    return d


def delete_step(definition: dict, sid: str) -> dict:
    d = copy.deepcopy(definition)
    holder, index = locate(d, sid)
    holder.pop(index)
    return d


def update_step(definition: dict, sid: str, **changes) -> dict:
    """Set fields of a step (or the trigger): connection, inputs, disabled, branches..."""
    d = copy.deepcopy(definition)
    find(d, sid).update(changes)
    return d


def rename_step(definition: dict, sid: str, name: str) -> dict:
    """Rename a step; its key follows the name and every mapping that used the old key is rewritten,
    so renaming never breaks later steps."""
    d = copy.deepcopy(definition)
    step = find(d, sid)
    old, new = step.get("key"), unique_key(d, name, sid)
    step.update(name=name, key=new)
    if old and old != new:
        text = json.dumps(d)
        text = re.sub(rf"\bsteps\.{re.escape(old)}\b", f"steps.{new}", text)
        d = json.loads(text)
    return d


def set_operation(definition: dict, sid: str, operation: str, name: str = "") -> dict:
    d = copy.deepcopy(definition)
    step = find(d, sid)
    if step.get("operation") != operation:
        step.update(operation=operation, inputs={}, connection=None)
        if operation == "flow.paths" and not step.get("branches"):
            step["branches"] = [new_branch("Path A"), new_branch("Path B")]
        if operation == "flow.loop":
            step.setdefault("steps", [])
    if sid != TRIGGER and not step.get("name"):
        step["name"] = name
        step["key"] = unique_key(d, name, sid)
    return d


# ---------------------------------------------------------------------------------------------
# Fields: what the form shows for each param, and turning form text back into input values


@dataclass
class Field:
    name: str
    label: str
    widget: str  # text | textarea | json | select | boolean | conditions
    required: bool
    help: str
    value: str  # the text in the input
    choices: tuple = ()  # (value, label) for enums
    loader: str | None = None  # option loader key: the dropdown loads via htmx
    placeholder: str = ""
    raw: Any = None
    error: str = ""
    preview: dict | None = None

    @property
    def mapped(self) -> bool:
        return "{{" in self.value


def widget_for(param) -> str:
    if param.name == "conditions" or param.type == "conditions":
        return "conditions"
    if param.enum or param.options:
        return "select"
    if param.type == "boolean":
        return "boolean"
    if param.type in ("object", "array"):
        return "json"
    if param.type == "string" and (param.schema or {}).get("format") == "textarea":
        return "textarea"
    return "text"


def as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2, ensure_ascii=False)
    return str(value)


ACRONYMS = {"id": "ID", "ids": "IDs", "url": "URL", "urls": "URLs", "api": "API", "dnd": "DND", "utc": "UTC",
            "sms": "SMS", "ip": "IP", "json": "JSON", "html": "HTML", "iso": "ISO"}


def humanize(name: str) -> str:
    """A field name as people read it: `contactId` -> "Contact ID", `due_date` -> "Due date"."""
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z]|\b|\d|_)|[A-Z]?[a-z]+|[A-Z]+|\d+", name or "")
    if not words:
        return name
    words = [ACRONYMS.get(w.lower(), w.lower()) for w in words]
    return (words[0][:1].upper() + words[0][1:]) + "".join(" " + w for w in words[1:])


def field_label(p) -> str:
    return p.label or humanize(p.name)


def field_help(p, label: str) -> str:
    """The spec's description, unless it only repeats the label ("Contact Id") or is a template."""
    text = (p.description or "").strip()
    if not text or "{{" in text or re.sub(r"\W", "", text).lower() == re.sub(r"\W", "", label).lower():
        return ""
    return text


def fields_for(op, inputs: dict) -> list[Field]:
    """Field descriptors of an operation, required first (connection-filled params left out)."""
    out = []
    for p in op.user_params:
        value = inputs.get(p.name, None)
        label = field_label(p)
        out.append(Field(
            name=p.name, label=label, widget=widget_for(p), required=p.required,
            help=field_help(p, label),
            placeholder=p.description if "{{" in (p.description or "") else ("" if p.default is None else as_text(p.default)),
            value=as_text(value if value is not None else ""), raw=value,
            choices=tuple((str(e), str(e)) for e in p.enum), loader=p.options,
        ))
    return out


def parse_field(param, text: str):
    """Turn the text of an input into the value stored in the draft. Returns (value, error).

    Text stays a template (`{{ trigger.n }}` keeps working for numbers). Numbers, booleans and JSON
    are stored typed when the text is exactly one."""
    text = (text or "").strip() if param.type != "string" else (text or "")
    if text.strip() == "":
        return None, None
    if param.type in ("integer", "number"):
        try:
            number = float(text)
            return (int(number) if param.type == "integer" or number.is_integer() else number), None
        except ValueError:
            return text, (None if "{{" in text else f"'{param.title}' must be a number or mapped data.")
    if param.type == "boolean":
        lowered = text.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true", None
        return text, None
    if param.type in ("object", "array") and text.strip()[:1] in ("{", "["):
        try:
            return json.loads(text), None
        except ValueError as exc:
            return text, f"'{param.title}' is not valid JSON ({exc.msg} at line {exc.lineno})."
    return text, None


def missing_required(op, inputs: dict) -> list[str]:
    return [p.name for p in op.required_params if inputs.get(p.name) in (None, "", [], {})]


# Conditions (Filter, Paths, trigger filter): {"any": [{"all": [{"left", "op", "right"}]}]}: OR of ANDs.


def conditions_from_form(data, prefix: str) -> dict:
    """Read rows named `<prefix>-<group>-<row>-left|op|right` (a QueryDict or dict)."""
    groups: dict[int, dict[int, dict]] = {}
    pattern = re.compile(rf"^{re.escape(prefix)}-(\d+)-(\d+)-(left|op|right)$")
    for name in data.keys():
        m = pattern.match(name)
        if m:
            groups.setdefault(int(m[1]), {}).setdefault(int(m[2]), {})[m[3]] = data.get(name, "")
    any_ = []
    for g in sorted(groups):
        rows = [{"left": r.get("left", ""), "op": r.get("op") or "exists", "right": r.get("right", "")}
                for _, r in sorted(groups[g].items()) if r.get("left", "").strip() or r.get("right", "").strip()]
        if rows:
            any_.append({"all": rows})
    return {"any": any_}


def condition_rows(group: dict | None) -> list[list[dict]]:
    """The groups of rows to show, always at least one empty row to fill."""
    group = group or {}
    if "all" in group and "any" not in group:
        group = {"any": [group]}
    rows = [list(g.get("all") or []) for g in group.get("any") or []]
    return [r for r in rows if r] or [[{"left": "", "op": "exists", "right": ""}]]


# ---------------------------------------------------------------------------------------------
# Mappable data: the picker's list of paths, and chips for a template


def join_path(parent: str, key) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    key = str(key)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{parent}.{key}" if parent else key
    return f'{parent}["{key}"]'


def flatten(value, prefix: str, depth: int = 0, limit: int = 300) -> list[tuple[str, str]]:
    """(path, example) for every leaf of a sample, objects and lists included; lists show item 0."""
    out: list[tuple[str, str]] = []

    def visit(v, path, level):
        if len(out) >= limit:
            return
        if isinstance(v, dict) and level < 6:
            if path != prefix:
                out.append((path, "{…}"))
            for k, child in v.items():
                visit(child, join_path(path, k), level + 1)
        elif isinstance(v, list) and level < 6:
            out.append((path, f"[{len(v)} items]"))
            if v:
                visit(v[0], join_path(path, 0), level + 1)
        else:
            text = as_text(v)
            out.append((path, text if len(text) <= 60 else text[:57] + "…"))

    visit(value, prefix, depth)
    return out


def schema_paths(schema: dict | None, prefix: str, level: int = 0) -> list[tuple[str, str]]:
    """Paths from a JSON schema (an operation's output before any test), with the type as example."""
    out: list[tuple[str, str]] = []
    if not isinstance(schema, dict) or level > 5:
        return out
    kind = schema.get("type")
    if kind == "array" or "items" in schema:
        if level:
            out.append((prefix, "[list]"))
        return out + schema_paths(schema.get("items"), join_path(prefix, 0), level + 1)
    props = schema.get("properties")
    if isinstance(props, dict):
        if level:
            out.append((prefix, "{…}"))
        for k, sub in props.items():
            out += schema_paths(sub, join_path(prefix, k), level + 1)
        return out
    return [(prefix, f"({kind or 'value'})")]


@dataclass
class DataSource:
    title: str
    paths: list  # [(path, example)]
    tested: bool

    @property
    def items(self) -> list[dict]:
        """What the picker lists: a readable label, an example and the token it inserts."""
        return [{"path": p, "example": e, "token": "{{ %s }}" % p,
                 "label": " › ".join(re.findall(r'[A-Za-z0-9_]+|"[^"]*"', p)[2 if p.startswith("steps") else 1:]) or p}
                for p, e in self.paths]


def picker_sources(definition: dict, sid: str, sample_data: dict, operation_of) -> list[DataSource]:
    """What step `sid` can map, grouped by source: the trigger, then each earlier step (by key when
    it has one). `operation_of(key)` returns an Operation or None (for output schemas)."""
    sample_data = sample_data or {}
    sources = []
    if sid != TRIGGER:
        trigger = sample_data.get("trigger")
        if trigger is not None:
            sources.append(DataSource("Trigger", flatten(trigger, "trigger"), True))
        else:  # not tested yet: the fields the trigger declares (GoHighLevel events, app triggers)
            op = operation_of(((definition or {}).get("trigger") or {}).get("operation", ""))
            sources.append(DataSource("Trigger", schema_paths(getattr(op, "output_schema", None), "trigger"), False))
        tested = sample_data.get("steps") or {}
        for n, step in enumerate(earlier_steps(definition, sid), 1):
            ref = join_path("steps", step.get("key") or step["id"])
            title = f"{n}. {step.get('name') or step.get('operation')}"
            if step["id"] in tested:
                sources.append(DataSource(title, flatten(tested[step["id"]], ref), True))
            else:
                op = operation_of(step.get("operation", ""))
                sources.append(DataSource(title, schema_paths(getattr(op, "output_schema", None), ref), False))
        if loop_of(definition, sid):
            sources.append(DataSource("Loop", [("loop.item", "current item"), ("loop.index", "0, 1, 2…")], True))
    return sources


def mapping_data(definition: dict, sample_data: dict, sid: str | None = None) -> dict:
    """The data templates are rendered with in previews and step tests: like a run's data, steps by
    id and by key."""
    sample_data = sample_data or {}
    tested = sample_data.get("steps") or {}
    steps = {}
    for step in all_steps(definition):
        if step["id"] in tested:
            steps[step["id"]] = tested[step["id"]]
            if step.get("key"):
                steps[step["key"]] = tested[step["id"]]
    data = {"trigger": sample_data.get("trigger") or {}, "steps": steps}
    loop_step = loop_of(definition, sid) if sid else None
    if loop_step:
        items = (tested.get(loop_step["id"]) or {}).get("items") or []
        data["loop"] = {"item": items[0] if items else None, "index": 0, "count": len(items)}
    return data


def chips(text: str, definition: dict) -> list[dict]:
    """Split template text into literal and token segments for display: tokens get a readable label
    ("2. Find contact › email"). Display only; nothing is evaluated here."""
    names = {}
    for n, step in enumerate(all_steps(definition), 1):
        label = f"{step.get('name') or step.get('operation')}"
        names[step["id"]] = label
        if step.get("key"):
            names[step["key"]] = label
    out, pos = [], 0
    for m in TOKEN.finditer(text or ""):
        if m.start() > pos:
            out.append({"text": text[pos:m.start()]})
        expr = m[1].strip()
        path = expr.split("|")[0].strip()
        parts = re.findall(r'[A-Za-z0-9_]+|"[^"]*"', path)
        if parts[:1] == ["steps"] and len(parts) > 1:
            head, rest = names.get(parts[1], parts[1]), parts[2:]
        elif parts[:1] == ["trigger"]:
            head, rest = "Trigger", parts[1:]
        else:
            head, rest = (parts[0] if parts else expr), parts[1:]
        label = " › ".join([head] + [p.strip('"') for p in rest])
        if "|" in expr:
            label += " | " + expr.split("|", 1)[1].strip()
        out.append({"chip": label, "token": m[0]})
        pos = m.end()
    if pos < len(text or ""):
        out.append({"text": text[pos:]})
    return out


# ---------------------------------------------------------------------------------------------
# Versions: what changed between two definitions


def diff(old: dict | None, new: dict | None, label_of=lambda key: key) -> list[dict]:
    """Human-readable changes from `old` to `new`: [{"kind": added|removed|changed|moved, "what", "details"}]."""
    old, new = old or {}, new or {}
    changes = []
    ot, nt = old.get("trigger") or {}, new.get("trigger") or {}
    if ot.get("operation") != nt.get("operation"):
        changes.append({"kind": "changed", "what": "Trigger",
                        "details": [f"{label_of(ot.get('operation')) or 'none'} → {label_of(nt.get('operation'))}"]})
    elif ot != nt:
        changes.append({"kind": "changed", "what": "Trigger", "details": _field_changes(ot, nt)})
    before = {s["id"]: s for s in all_steps(old)}
    after = {s["id"]: s for s in all_steps(new)}
    name = lambda s: s.get("name") or label_of(s.get("operation")) or s["id"]  # noqa: E731
    for sid, step in after.items():
        if sid not in before:
            changes.append({"kind": "added", "what": name(step), "details": [label_of(step.get("operation"))]})
        elif _own(before[sid]) != _own(step):
            changes.append({"kind": "changed", "what": name(step), "details": _field_changes(before[sid], step)})
    for sid, step in before.items():
        if sid not in after:
            changes.append({"kind": "removed", "what": name(step), "details": []})
    order_old = [s for s in before if s in after]
    order_new = [s for s in after if s in before]
    if order_old != order_new:
        changes.append({"kind": "moved", "what": "Step order", "details": [" → ".join(name(after[s]) for s in order_new)]})
    return changes


def _own(step: dict) -> dict:
    """A step without its sub-steps (those are compared on their own)."""
    s = {k: v for k, v in step.items() if k not in ("steps",)}
    if "branches" in s:
        s["branches"] = [{k: v for k, v in b.items() if k != "steps"} for b in s["branches"]]
    return s


def _field_changes(a: dict, b: dict) -> list[str]:
    out = []
    a, b = _own(a), _own(b)
    for key in ("name", "operation", "connection", "disabled", "filter", "branches"):
        if a.get(key) != b.get(key):
            out.append({"disabled": "switched " + ("off" if b.get("disabled") else "on"),
                        "name": f"renamed “{a.get('name') or ''}” → “{b.get('name') or ''}”"}.get(key, f"{key} changed"))
    ai, bi = a.get("inputs") or {}, b.get("inputs") or {}
    for k in sorted(set(ai) | set(bi)):
        if ai.get(k) != bi.get(k):
            out.append(f"{k}: {_short(ai.get(k))} → {_short(bi.get(k))}")
    return out


def _short(value) -> str:
    text = "(empty)" if value in (None, "") else as_text(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "…"
