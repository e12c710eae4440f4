"""Conditions for Filter and Paths steps and trigger filters.

A condition group is an OR of AND groups (Zapier style)::

    {"any": [
        {"all": [{"left": "{{ trigger.tags }}", "op": "contains", "right": "vip"},
                 {"left": "{{ trigger.total }}", "op": "gt", "right": "100"}]},
        {"all": [{"left": "{{ trigger.email }}", "op": "ends_with", "right": "@acme.com"}]},
    ]}

``left`` and ``right`` are mapping templates (``automations.mapping.render``); ``right`` is not
used by unary operators. Optional per-condition keys: ``"case_sensitive": true`` for the text
operators (case-insensitive by default) and ``"tz"`` (IANA name, default UTC) for the date
operators: dates without an offset are read in it and ``on`` compares calendar days in it. A group without conditions is true. Template errors (MappingError) propagate, so the
engine reports them as mapping errors; values of the wrong kind (text for a number operator, a
date that cannot be read) make the condition false instead.

Operators by type (see OPERATORS):

* text: equals, not_equals, contains, not_contains, starts_with, ends_with, is_empty,
  is_not_empty, in_list (right is comma-separated), matches (a guarded Python regex search).
  For a list on the left, contains/not_contains look at each item's text.
* number: eq, ne, gt, gte, lt, lte (both sides read with float()).
* date: before, after, on (ISO-8601, epoch seconds/ms or "now", as the mapping date filters).
* boolean: is_true, is_false (true/yes/y/on/1, non-zero, non-empty).
* list: list_contains, list_not_contains, list_is_empty (text lists may be JSON or comma-separated).
* any: exists, not_exists (the value is / is not null).
"""
from __future__ import annotations

import json
import math
import re
import re._constants as _sre  # the stdlib regex parser, used only to inspect patterns
import re._parser as _sre_parse
from dataclasses import dataclass
from typing import Any, Callable

from . import mapping
from .mapping_dates import get_zone, parse_datetime
from .mapping_filters import FilterError, to_bool, to_text

MAX_PATTERN_CHARS = 200
MAX_SUBJECT_CHARS = 10_000
MAX_EXPLAIN_CHARS = 1_000  # long values are shortened in explain() output (run history)


@dataclass(frozen=True)
class Condition:
    """One normalised condition with its rendered sides."""
    left: Any
    right: Any
    case_sensitive: bool = False
    tz: str = "UTC"


_CHECKS: dict[str, Callable[[Condition], bool]] = {}
OPERATORS: dict[str, dict] = {}


def operator(name: str, type_: str, label: str | None = None, unary: bool = False):
    """Register a check ``f(condition) -> bool`` under ``name`` and describe it in OPERATORS."""
    def decorate(func):
        _CHECKS[name] = func
        OPERATORS[name] = {"label": label or name.replace("_", " "), "type": type_, "unary": unary}
        return func
    return decorate


# --------------------------------------------------------------------------- coercions

def _fold(cond: Condition, value: Any) -> str:
    text = value if isinstance(value, str) else to_text(value)
    return text if cond.case_sensitive else text.casefold()


def _is_blank(value: Any) -> bool:
    return value is None or value in ("", [], {}) or (isinstance(value, str) and not value.strip())


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return None
    return None if math.isnan(number) else number


def _as_datetime(value: Any, tz: str = "UTC"):
    """An aware datetime (values without an offset are in ``tz``), or None when unreadable."""
    try:
        return parse_datetime(value, get_zone(tz))
    except FilterError:
        return None


def _as_list(value: Any) -> list:
    """A list from a list, JSON list text or comma-separated text; scalars become one item."""
    if isinstance(value, list):
        return value
    if _is_blank(value):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, list):
                return parsed
        return [item.strip() for item in text.split(",") if item.strip()]
    return [value]


# --------------------------------------------------------------------------- text operators

@operator("equals", "text")
def _equals(c: Condition) -> bool:
    return _fold(c, c.left) == _fold(c, c.right)


@operator("not_equals", "text", "does not equal")
def _not_equals(c: Condition) -> bool:
    return not _equals(c)


@operator("contains", "text")
def _contains(c: Condition) -> bool:
    needle = _fold(c, c.right)
    items = c.left if isinstance(c.left, list) else [c.left]
    return any(needle in _fold(c, item) for item in items)


@operator("not_contains", "text", "does not contain")
def _not_contains(c: Condition) -> bool:
    return not _contains(c)


@operator("starts_with", "text")
def _starts_with(c: Condition) -> bool:
    return _fold(c, c.left).startswith(_fold(c, c.right))


@operator("ends_with", "text")
def _ends_with(c: Condition) -> bool:
    return _fold(c, c.left).endswith(_fold(c, c.right))


@operator("is_empty", "text", unary=True)
def _is_empty(c: Condition) -> bool:
    return _is_blank(c.left)


@operator("is_not_empty", "text", unary=True)
def _is_not_empty(c: Condition) -> bool:
    return not _is_blank(c.left)


@operator("in_list", "text", "is one of")
def _in_list(c: Condition) -> bool:
    return _fold(c, c.left) in {_fold(c, item) for item in _as_list(c.right)}


@operator("matches", "text", "matches pattern")
def _matches(c: Condition) -> bool:
    pattern = to_text(c.right)
    if regex_problem(pattern):
        return False
    flags = 0 if c.case_sensitive else re.IGNORECASE
    return re.search(pattern, to_text(c.left)[:MAX_SUBJECT_CHARS], flags) is not None


_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT} | ({_sre.POSSESSIVE_REPEAT} if hasattr(_sre, "POSSESSIVE_REPEAT") else set())


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` is refused (too long, invalid, backtracking-prone), or None when it is safe.

    Refused shapes: a quantifier or an alternation inside a repeated group (``(a+)+``, ``(a|aa)*``)
    and backreferences — the constructs behind catastrophic backtracking.
    """
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"the pattern is longer than {MAX_PATTERN_CHARS} characters"
    try:
        parsed = _sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"the pattern is not a valid regular expression ({exc})"
    if _backtracks(parsed, inside_repeat=False):
        return "the pattern nests quantifiers or alternations (like (a+)+), which can hang; simplify it"
    return None


def _backtracks(items, inside_repeat: bool) -> bool:
    for op, av in items:
        if op in (_sre.GROUPREF, _sre.GROUPREF_EXISTS) or (inside_repeat and (op in _REPEATS or op is _sre.BRANCH)):
            return True
        repeats = op in _REPEATS and av[1] > 1
        if any(_backtracks(sub, inside_repeat or repeats) for sub in _subpatterns(av)):
            return True
    return False


def _subpatterns(av):
    if isinstance(av, _sre_parse.SubPattern):
        yield av
    elif isinstance(av, (tuple, list)):
        for item in av:
            yield from _subpatterns(item)


# --------------------------------------------------------------------------- number operators

def _compare(name: str, label: str, test: Callable[[float, float], bool]) -> None:
    def check(c: Condition) -> bool:
        left, right = _as_number(c.left), _as_number(c.right)
        return left is not None and right is not None and test(left, right)
    operator(name, "number", label)(check)


for _name, _label, _test in [
    ("eq", "=", lambda a, b: a == b), ("ne", "≠", lambda a, b: a != b),
    ("gt", ">", lambda a, b: a > b), ("gte", "≥", lambda a, b: a >= b),
    ("lt", "<", lambda a, b: a < b), ("lte", "≤", lambda a, b: a <= b),
]:
    _compare(_name, _label, _test)


# --------------------------------------------------------------------------- date operators

def _dates(c: Condition):
    left, right = _as_datetime(c.left, c.tz), _as_datetime(c.right, c.tz)
    return (left, right) if left is not None and right is not None else None


@operator("before", "date", "is before")
def _before(c: Condition) -> bool:
    pair = _dates(c)
    return pair is not None and pair[0] < pair[1]


@operator("after", "date", "is after")
def _after(c: Condition) -> bool:
    pair = _dates(c)
    return pair is not None and pair[0] > pair[1]


@operator("on", "date", "is on (same day)")
def _on(c: Condition) -> bool:
    pair = _dates(c)
    if pair is None:
        return False
    zone = get_zone(c.tz)  # valid: _dates already read both sides in it
    return pair[0].astimezone(zone).date() == pair[1].astimezone(zone).date()


# --------------------------------------------------------------------------- boolean, list, any

@operator("is_true", "boolean", "is true", unary=True)
def _is_true(c: Condition) -> bool:
    return to_bool(c.left)


@operator("is_false", "boolean", "is false", unary=True)
def _is_false(c: Condition) -> bool:
    return not to_bool(c.left)


@operator("list_contains", "list", "list contains")
def _list_contains(c: Condition) -> bool:
    return _fold(c, c.right) in {_fold(c, item) for item in _as_list(c.left)}


@operator("list_not_contains", "list", "list does not contain")
def _list_not_contains(c: Condition) -> bool:
    return not _list_contains(c)


@operator("list_is_empty", "list", "list is empty", unary=True)
def _list_is_empty(c: Condition) -> bool:
    return not _as_list(c.left)


@operator("exists", "any", unary=True)
def _exists(c: Condition) -> bool:
    return c.left is not None


@operator("not_exists", "any", "does not exist", unary=True)
def _not_exists(c: Condition) -> bool:
    return c.left is None


# --------------------------------------------------------------------------- groups

def _and_groups(group: dict) -> list[list]:
    """The AND groups of an OR group; a bare {"all": [...]} counts as one group."""
    if not group:
        return []
    if not isinstance(group, dict):
        raise mapping.MappingError("a condition group must be an object")
    if "all" in group and "any" not in group:
        return [_conditions_of(group)]
    branches = group.get("any") or []
    if not isinstance(branches, list):
        raise mapping.MappingError("'any' must be a list of groups")
    return [_conditions_of(branch) for branch in branches]


def _conditions_of(branch: Any) -> list:
    conditions = branch.get("all") if isinstance(branch, dict) else None
    if not isinstance(conditions, list):
        raise mapping.MappingError("each group needs an 'all' list of conditions")
    return conditions


def _render_side(template: Any, context: dict) -> Any:
    return mapping.render(template, context) if isinstance(template, str) else template


def _run(spec: Any, context: dict) -> tuple[Condition, bool]:
    """Render one condition's sides and apply its operator."""
    if not isinstance(spec, dict) or spec.get("op") not in _CHECKS:
        op = spec.get("op") if isinstance(spec, dict) else None
        raise mapping.MappingError(f"unknown condition operator {op!r}")
    unary = OPERATORS[spec["op"]]["unary"]
    cond = Condition(left=_render_side(spec.get("left"), context),
                     right=None if unary else _render_side(spec.get("right"), context),
                     case_sensitive=bool(spec.get("case_sensitive")), tz=str(spec.get("tz") or "UTC"))
    return cond, bool(_CHECKS[spec["op"]](cond))


def evaluate(group: dict, context: dict) -> bool:
    """True when any AND group has all its conditions true (an empty group is true)."""
    groups = _and_groups(group)
    return not groups or any(all(_run(spec, context)[1] for spec in conditions) for conditions in groups)


def explain(group: dict, context: dict) -> list[dict]:
    """Every condition with its rendered sides and result, for run history."""
    rows = []
    for index, conditions in enumerate(_and_groups(group)):
        for spec in conditions:
            cond, result = _run(spec, context)
            rows.append({"group": index, "left": _short(cond.left), "op": spec["op"],
                         "right": _short(cond.right), "result": result})
    return rows


def _short(value: Any) -> Any:
    """Keep explain() rows small: long text is cut, big lists/objects are summarised."""
    if isinstance(value, str) and len(value) > MAX_EXPLAIN_CHARS:
        return value[:MAX_EXPLAIN_CHARS] + "…"
    if isinstance(value, (dict, list)):
        try:
            fits = len(to_text(value)) <= MAX_EXPLAIN_CHARS
        except FilterError:
            fits = False
        if not fits:
            return f"({'object' if isinstance(value, dict) else 'list'} with {len(value)} items)"
    return value


# --------------------------------------------------------------------------- validation

def validate(group: dict) -> list[str]:
    """Human-readable problems: structure, unknown operators, missing values, template and regex errors."""
    try:
        groups = _and_groups(group)
    except mapping.MappingError as exc:
        return [f"Conditions: {exc.message}."]
    problems = []
    for g, conditions in enumerate(groups, 1):
        for c, spec in enumerate(conditions, 1):
            where = f"Group {g}, condition {c}" if len(groups) > 1 else f"Condition {c}"
            problems.extend(f"{where}: {problem}" for problem in _condition_problems(spec))
    return problems


def _condition_problems(spec: Any) -> list[str]:
    if not isinstance(spec, dict):
        return ["must be an object with left, op and right."]
    op = spec.get("op")
    if op not in OPERATORS:
        return [f"unknown operator {op!r}." if op else "choose an operator."]
    problems = [] if spec.get("left") not in (None, "") else ["the left value is missing."]
    if not OPERATORS[op]["unary"]:
        if spec.get("right") is None:
            problems.append(f"'{OPERATORS[op]['label']}' needs a value to compare with.")
        problems.extend(_static_right_problems(op, spec.get("right")))
    problems.extend(f"{side} value: {err}." for side in ("left", "right")
                    for err in mapping.validate(spec.get(side)))
    return problems


def _static_right_problems(op: str, right: Any) -> list[str]:
    """Checks possible without data: a literal regex, number or date on the right."""
    if not isinstance(right, str) or "{{" in right:
        return []
    kind = OPERATORS[op]["type"]
    if op == "matches" and (problem := regex_problem(right)):
        return [problem + "."]
    if kind == "number" and _as_number(right) is None:
        return [f"{right[:40]!r} is not a number."]
    if kind == "date" and _as_datetime(right) is None:
        return [f"{right[:40]!r} is not a date."]
    return []
