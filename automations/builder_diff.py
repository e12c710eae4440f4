"""Versions in the flow builder: human-readable changes between two flow definitions (`diff`)."""
from __future__ import annotations

from .builder import all_steps
from .builder_fields import as_text


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
