"""Filter/Paths conditions: every operator, coercions, AND/OR groups, explain and validate."""
import time

import pytest

from automations import conditions
from automations.conditions import OPERATORS, evaluate, explain, validate
from automations.mapping import MappingError

CTX = {"trigger": {
    "email": "Joe@VIP.com", "name": "Ada Lovelace", "tags": ["vip", "New"], "tag_text": "vip, new",
    "total": "150.5", "count": 3, "zero": 0, "empty": "", "blank": "   ", "none": None, "flag": "yes",
    "off": "false", "created": "2024-03-10T15:30:00Z", "late": "2024-03-10T23:30:00-04:00",
    "epoch": 1710084600, "items": [], "obj": {"a": 1}, "json_tags": '["a", "b"]',
}}


def cond(left, op, right=None, **extra):
    spec = {"left": left, "op": op, **extra}
    if right is not None:
        spec["right"] = right
    return {"any": [{"all": [spec]}]}


T = "{{ trigger.%s }}"

OPERATOR_CASES = [
    # text
    (T % "email", "equals", "joe@vip.com", {}, True),
    (T % "email", "equals", "joe@vip.com", {"case_sensitive": True}, False),
    (T % "email", "equals", "Joe@VIP.com", {"case_sensitive": True}, True),
    (T % "count", "equals", "3", {}, True),
    (T % "none", "equals", "", {}, True),
    (T % "email", "not_equals", "amy@vip.com", {}, True),
    (T % "email", "not_equals", "JOE@vip.com", {}, False),
    (T % "email", "contains", "@vip.com", {}, True),
    (T % "email", "contains", "@VIP", {"case_sensitive": True}, True),
    (T % "email", "contains", "@vip", {"case_sensitive": True}, False),
    (T % "tags", "contains", "vip", {}, True),
    (T % "tags", "contains", "new", {}, True),
    (T % "tags", "contains", "old", {}, False),
    (T % "none", "contains", "x", {}, False),
    (T % "email", "not_contains", "gmail", {}, True),
    (T % "tags", "not_contains", "vip", {}, False),
    (T % "name", "starts_with", "ada", {}, True),
    (T % "name", "starts_with", "Love", {}, False),
    (T % "name", "ends_with", "LACE", {}, True),
    (T % "name", "ends_with", "LACE", {"case_sensitive": True}, False),
    (T % "empty", "is_empty", None, {}, True),
    (T % "blank", "is_empty", None, {}, True),
    (T % "none", "is_empty", None, {}, True),
    (T % "missing", "is_empty", None, {}, True),
    (T % "items", "is_empty", None, {}, True),
    (T % "name", "is_empty", None, {}, False),
    (T % "zero", "is_empty", None, {}, False),
    (T % "name", "is_not_empty", None, {}, True),
    (T % "empty", "is_not_empty", None, {}, False),
    (T % "flag", "in_list", "no, YES, maybe", {}, True),
    (T % "flag", "in_list", "no,maybe", {}, False),
    (T % "flag", "in_list", "no, YES", {"case_sensitive": True}, False),
    (T % "count", "in_list", "1,2,3", {}, True),
    (T % "email", "matches", r"^[a-z]+@vip\.com$", {}, True),
    (T % "email", "matches", r"^[a-z]+@vip\.com$", {"case_sensitive": True}, False),
    (T % "name", "matches", r"\bLove", {}, True),
    (T % "name", "matches", "(a+)+$", {}, False),
    (T % "name", "matches", "(unclosed", {}, False),
    # number
    (T % "total", "gt", "100", {}, True),
    (T % "total", "gt", "150.5", {}, False),
    (T % "total", "gte", "150.5", {}, True),
    (T % "count", "lt", "3.5", {}, True),
    (T % "count", "lte", "3", {}, True),
    (T % "count", "lte", "2", {}, False),
    (T % "count", "eq", "3.0", {}, True),
    (T % "count", "ne", "4", {}, True),
    (T % "count", "ne", "3", {}, False),
    (T % "zero", "eq", "0", {}, True),
    (T % "name", "gt", "1", {}, False),
    (T % "name", "lt", "1", {}, False),
    (T % "none", "eq", "0", {}, False),
    (T % "count", "gt", "abc", {}, False),
    (T % "count", "ne", "abc", {}, False),
    (T % "flag", "eq", "1", {}, False),
    (" 12 ", "eq", "12", {}, True),
    # date
    (T % "created", "before", "2024-03-11", {}, True),
    (T % "created", "after", "2024-03-11", {}, False),
    (T % "created", "after", "1710000000", {}, True),
    (T % "epoch", "on", "2024-03-10", {}, True),
    ("1710084600000", "on", "2024-03-10", {}, True),
    (T % "late", "on", "2024-03-11", {}, True),
    (T % "late", "on", "2024-03-10", {"tz": "America/New_York"}, True),
    (T % "late", "on", "2024-03-10", {}, False),
    (T % "created", "before", "now", {}, True),
    (T % "created", "before", "not a date", {}, False),
    (T % "none", "after", "2020-01-01", {}, False),
    (T % "created", "on", "2024-03-10", {"tz": "Nowhere/Zone"}, False),
    # boolean
    (T % "flag", "is_true", None, {}, True),
    (T % "off", "is_true", None, {}, False),
    (T % "count", "is_true", None, {}, True),
    (T % "zero", "is_false", None, {}, True),
    (T % "none", "is_false", None, {}, True),
    (T % "flag", "is_false", None, {}, False),
    # list
    (T % "tags", "list_contains", "vip", {}, True),
    (T % "tags", "list_contains", "NEW", {}, True),
    (T % "tags", "list_contains", "NEW", {"case_sensitive": True}, False),
    (T % "tags", "list_contains", "vi", {}, False),
    (T % "tag_text", "list_contains", "new", {}, True),
    (T % "json_tags", "list_contains", "b", {}, True),
    (T % "tags", "list_not_contains", "old", {}, True),
    (T % "tags", "list_not_contains", "vip", {}, False),
    (T % "items", "list_is_empty", None, {}, True),
    (T % "none", "list_is_empty", None, {}, True),
    (T % "tags", "list_is_empty", None, {}, False),
    # any
    (T % "empty", "exists", None, {}, True),
    (T % "obj", "exists", None, {}, True),
    (T % "missing", "exists", None, {}, False),
    (T % "missing", "not_exists", None, {}, True),
    (T % "zero", "not_exists", None, {}, False),
]


@pytest.mark.parametrize("left,op,right,extra,expected", OPERATOR_CASES,
                         ids=[f"{c[0]} {c[1]} {c[2]} {c[3]}" for c in OPERATOR_CASES])
def test_operator(left, op, right, extra, expected):
    assert evaluate(cond(left, op, right, **extra), CTX) is expected


def test_every_operator_is_tested_and_described():
    tested = {case[1] for case in OPERATOR_CASES}
    assert tested == set(OPERATORS)
    for op, meta in OPERATORS.items():
        assert set(meta) == {"label", "type", "unary"}
        assert meta["type"] in {"text", "number", "date", "boolean", "list", "any"}
    assert OPERATORS["is_empty"]["unary"] and not OPERATORS["equals"]["unary"]


# --------------------------------------------------------------------------- groups

YES = {"left": T % "email", "op": "contains", "right": "vip"}
NO = {"left": T % "email", "op": "contains", "right": "gmail"}


@pytest.mark.parametrize("group,expected", [
    ({}, True),
    ({"any": []}, True),
    ({"any": [{"all": []}]}, True),
    ({"any": [{"all": [YES]}]}, True),
    ({"any": [{"all": [NO]}]}, False),
    ({"any": [{"all": [YES, YES]}]}, True),
    ({"any": [{"all": [YES, NO]}]}, False),
    ({"any": [{"all": [NO]}, {"all": [YES]}]}, True),
    ({"any": [{"all": [YES, NO]}, {"all": [NO, YES]}]}, False),
    ({"any": [{"all": [YES, NO]}, {"all": [YES, YES]}]}, True),
    ({"all": [YES, YES]}, True),
    ({"all": [YES, NO]}, False),
])
def test_and_or_combinations(group, expected):
    assert evaluate(group, CTX) is expected


def test_mapping_errors_propagate():
    with pytest.raises(MappingError):
        evaluate(cond("{{ trigger.email | nosuchfilter }}", "exists"), CTX)
    with pytest.raises(MappingError):
        evaluate(cond(T % "email", "nope", "x"), CTX)
    with pytest.raises(MappingError):
        evaluate({"any": "not a list"}, CTX)


def test_unary_operators_ignore_right():
    assert evaluate(cond(T % "name", "is_not_empty", "{{ trigger.x | nosuchfilter }}"), CTX) is True


def test_right_side_can_be_a_template():
    assert evaluate(cond(T % "count", "lt", "{{ trigger.total }}"), CTX) is True
    assert evaluate(cond(T % "email", "in_list", "{{ trigger.tags }}"), CTX) is False
    assert evaluate(cond("{{ trigger.tags | first }}", "in_list", "{{ trigger.tags }}"), CTX) is True


def test_explain_lists_every_condition():
    group = {"any": [{"all": [YES, {"left": T % "total", "op": "gt", "right": "100"}]},
                     {"all": [{"left": T % "missing", "op": "exists"}]}]}
    assert explain(group, CTX) == [
        {"group": 0, "left": "Joe@VIP.com", "op": "contains", "right": "vip", "result": True},
        {"group": 0, "left": "150.5", "op": "gt", "right": "100", "result": True},
        {"group": 1, "left": None, "op": "exists", "right": None, "result": False},
    ]
    assert explain({}, CTX) == []


def test_explain_keeps_values_small():
    rows = explain(cond("{{ s }}", "is_not_empty"), {"s": "x" * 5000})
    assert len(rows[0]["left"]) == conditions.MAX_EXPLAIN_CHARS + 1
    rows = explain(cond("{{ s }}", "list_is_empty"), {"s": list(range(2000))})
    assert rows[0]["left"] == "(list with 2000 items)"


# --------------------------------------------------------------------------- validate

@pytest.mark.parametrize("group,messages", [
    ({"any": [{"all": [YES]}]}, []),
    ({}, []),
    ({"any": [{"all": [{"left": "x", "op": "frobnicate", "right": "y"}]}]}, ["Condition 1: unknown operator 'frobnicate'."]),
    ({"any": [{"all": [{"left": "x", "right": "y"}]}]}, ["Condition 1: choose an operator."]),
    ({"any": [{"all": [{"left": "x", "op": "equals"}]}]}, ["Condition 1: 'equals' needs a value to compare with."]),
    ({"any": [{"all": [{"op": "exists"}]}]}, ["Condition 1: the left value is missing."]),
    ({"any": [{"all": [{"left": "{{ x | nope }}", "op": "exists"}]}]},
     ["Condition 1: left value: unknown filter 'nope' at position 7."]),
    ({"any": [{"all": [{"left": "x", "op": "equals", "right": "{{ y"}]}]},
     ["Condition 1: right value: unterminated '{{' (missing '}}') at position 0."]),
    ({"any": [{"all": [{"left": "x", "op": "gt", "right": "lots"}]}]}, ["Condition 1: 'lots' is not a number."]),
    ({"any": [{"all": [{"left": "x", "op": "before", "right": "someday"}]}]}, ["Condition 1: 'someday' is not a date."]),
    ({"any": [{"all": [YES]}, {"all": [YES, {"left": "x", "op": "nope"}]}]}, ["Group 2, condition 2: unknown operator 'nope'."]),
    ({"any": [{"all": ["text"]}]}, ["Condition 1: must be an object with left, op and right."]),
    ({"any": [{"none": []}]}, ["Conditions: each group needs an 'all' list of conditions."]),
    ("not a group", ["Conditions: a condition group must be an object."]),
])
def test_validate_messages(group, messages):
    assert validate(group) == messages


def test_validate_accepts_template_right_sides_without_static_checks():
    assert validate(cond(T % "count", "gt", "{{ trigger.total }}")) == []
    assert validate(cond(T % "name", "matches", "{{ trigger.pattern }}")) == []


# --------------------------------------------------------------------------- ReDoS

@pytest.mark.parametrize("pattern", [
    "(a+)+$", "(a*)*b", "(a+)*", "(\\w+\\s?)*$", "(a|aa)+$", "(x+x+)+y", "((ab)*)+", "(.*a){3,}",
    "(a|a?)+", "^(([a-z])+.)+[A-Z]([a-z])+$", "(\\d+)\\1", "a" * 201,
])
def test_redos_patterns_are_rejected(pattern):
    assert conditions.regex_problem(pattern)
    started = time.perf_counter()
    assert evaluate(cond("{{ s }}", "matches", pattern), {"s": "a" * 5000 + "!"}) is False
    assert time.perf_counter() - started < 1.0  # catastrophic backtracking on 5,000 chars would take minutes
    assert validate(cond("x", "matches", pattern))


@pytest.mark.parametrize("pattern", [
    r"^\d{3}-\d{4}$", r"^[\w.+-]+@[\w-]+\.[\w.]+$", "(https?://)?example", "vip|gold", r"(ab)+c", "^$",
])
def test_safe_patterns_are_allowed(pattern):
    assert conditions.regex_problem(pattern) is None


def test_long_subjects_are_cut_before_matching():
    assert evaluate(cond("{{ s }}", "matches", "b$"), {"s": "a" * 20_000 + "b"}) is False
    assert evaluate(cond("{{ s }}", "matches", "^a"), {"s": "a" * 20_000 + "b"}) is True
