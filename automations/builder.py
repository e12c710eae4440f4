"""Pure helpers behind the flow builder: walk and edit the draft definition. No requests, no
database: the views in `views/editor.py` call these on `Flow.draft` (format in flows.py).

The other builder helpers sit next to this module: `builder_fields.py` (form fields of a step),
`builder_data.py` (the data picker and preview data, from `Flow.sample_data`) and
`builder_diff.py` (what changed between two versions).

Step addresses: a *container* holds a list of steps: "" is the top level, "s3/b0" branch 0 of the
Paths step s3, "s4" the inner steps of the Loop step s4. Step ids ("s1", "s2"...) are unique in the
whole flow, so a step is found by id alone.
"""
from __future__ import annotations

import copy
import json
import re

from django.utils.text import slugify

TRIGGER = "trigger"
CONTAINERS = {"flow.paths": "branches", "flow.loop": "steps"}


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
