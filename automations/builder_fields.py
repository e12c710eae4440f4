"""Form fields of the flow builder: what the step form shows for each param (`fields_for`,
`widget_for`, labels and help), turning form text back into input values (`parse_field`), required
inputs still missing, and the condition rows of Filter / Paths / trigger filters. Pure helpers,
no requests or database.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


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

