"""Mappable data in the flow builder: the picker's list of paths a step can map (`picker_sources`),
the data previews and step tests render with (`mapping_data`), and chips for template text.

`Flow.sample_data` is `{"trigger": <payload>, "steps": {"<step id>": <output>}}`: the trigger part is
pulled by "test trigger" (webhook delivery, pasted JSON, or `automations.polling.sample`), each step
part by "test step". Before a test, paths come from the operation's output schema.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .builder import TRIGGER, all_steps, earlier_steps, loop_of
from .builder_fields import as_text

TOKEN = re.compile(r"\{\{(.*?)\}\}", re.S)  # display only (chips); evaluation is mapping.py's job


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
