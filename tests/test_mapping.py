"""The mapping language: grammar, every filter and errors (automations.mapping); hostile input, limits and
fuzzing are in test_mapping_hostile.py."""
import json

import pytest

from automations import mapping
from automations.mapping import FILTERS, MappingError, compile_template, render, render_value

CTX = {
    "trigger": {
        "contact": {
            "firstName": "Ada", "email": "  Ada@Example.COM ", "phone": "(415) 555-2671",
            "name": "Dr. Jane van der Berg", "tags": ["vip", "new", "vip"], "age": 36, "score": 4.5,
            "active": True, "nickname": None, "empty": "", "some key": "spaced", "0": "zero-key",
        },
        "items": [{"sku": "A1", "price": 10, "qty": 2}, {"sku": "B2", "price": 2.5, "qty": 4}],
        "nums": [3, 1, 2], "words": ["b", "a", "c"], "floats": [1.5, 2.25],
        "created": "2024-03-10T15:30:00Z", "local": "2024-03-10T09:00:00", "epoch": 1710084600,
        "epoch_ms": 1710084600000, "json": '{"a": [1, 2]}', "csv": "a,b,c", "html": "a b&c/d",
        "nested": {"a": {"b": {"c": "deep"}}}, "weird": {"keys": "k", "__class__": "x"},
        "total": "12.50", "flag": "yes", "zero": 0,
    },
    "steps": {"find": {"contacts": [{"id": 7, "email": "x@y.com"}, {"id": 8}]}},
}

CASES = [
    # paths, indexes, quoting
    ("{{ trigger.contact.firstName }}", "Ada"),
    ("{{ steps.find.contacts[0].id }}", 7),
    ("{{ steps.find.contacts.1.id }}", 8),
    ("{{ steps.find.contacts[-1].id }}", 8),
    ("{{ steps.find.contacts[-3].id }}", None),
    ("{{ steps.find.contacts[5].id }}", None),
    ('{{ trigger.contact["some key"] }}', "spaced"),
    ("{{ trigger.contact['some key'] }}", "spaced"),
    ("{{ trigger.contact.0 }}", "zero-key"),
    ("{{ trigger.contact[0] }}", "zero-key"),
    ("{{ trigger.nested.a.b.c }}", "deep"),
    ('{{ trigger["nested"]["a"].b["c"] }}', "deep"),
    ("{{trigger.contact.firstName}}", "Ada"),
    ("{{   trigger.contact.firstName   }}", "Ada"),
    ("{{ trigger.weird.keys }}", "k"),
    ("{{ trigger.weird.__class__ }}", "x"),
    ("{{ trigger.__class__ }}", None),
    ("{{ trigger.contact.firstName.length }}", None),
    ("{{ trigger.nums.length }}", None),
    ("{{ missing }}", None),
    ("{{ missing.deeper[3].x }}", None),
    ("{{ trigger.contact.tags[0][0] }}", None),
    # type preservation
    ("{{ trigger.contact.tags }}", ["vip", "new", "vip"]),
    ("{{ trigger.nested.a }}", {"b": {"c": "deep"}}),
    ("{{ trigger.contact.age }}", 36),
    ("{{ trigger.contact.score }}", 4.5),
    ("{{ trigger.contact.active }}", True),
    ("{{ trigger.contact.nickname }}", None),
    ("  {{ trigger.contact.age }}\n", 36),
    # literals
    ('{{ "hi" }}', "hi"),
    ("{{ 'it\\'s' }}", "it's"),
    ('{{ "a\\"b\\\\c\\n\\u00e9" }}', 'a"b\\c\né'),
    ("{{ 42 }}", 42),
    ("{{ -7 }}", -7),
    ("{{ 2.5 }}", 2.5),
    ("{{ true }}", True),
    ("{{ false }}", False),
    ("{{ null }}", None),
    ('{{ "{{" }}', "{{"),
    ('{{ "}}" }}', "}}"),
    ('a {{ "{{ x }}" }} b', "a {{ x }} b"),
    # text concatenation
    ("Hello {{ trigger.contact.firstName }}!", "Hello Ada!"),
    ("Hi {{ trigger.contact.nickname }}.", "Hi ."),
    ("{{ trigger.contact.age }} years", "36 years"),
    ("{{ trigger.contact.active }}/{{ false }}", "true/false"),
    ("tags={{ trigger.contact.tags }}", 'tags=["vip","new","vip"]'),
    ("n={{ trigger.nested.a }}", 'n={"b":{"c":"deep"}}'),
    ("{{ 3.0 }} {{ 2.5 }}", "3 2.5"),
    ("{{ trigger.contact.firstName }}{{ trigger.contact.firstName }}", "AdaAda"),
    ("no blocks at all", "no blocks at all"),
    ("", ""),
    ("${7*7} #{x} <%= y %> {% if %}", "${7*7} #{x} <%= y %> {% if %}"),
    ("a } b }} c", "a } b }} c"),
    # text filters
    ("{{ trigger.contact.firstName | upper }}", "ADA"),
    ("{{ trigger.contact.firstName | lower }}", "ada"),
    ("{{ trigger.contact.email | trim }}", "Ada@Example.COM"),
    ('{{ "hello wide world" | title }}', "Hello Wide World"),
    ('{{ "hELLO" | capitalize }}', "Hello"),
    ("Hello {{ trigger.contact.nickname | default(\"there\") | upper }}", "Hello THERE"),
    ('{{ trigger.contact.empty | default("n/a") }}', "n/a"),
    ('{{ trigger.contact.firstName | default("n/a") }}', "Ada"),
    ("{{ trigger.contact.zero | default(5) }}", 5),
    ("{{ trigger.zero | default(5) }}", 0),
    ('{{ missing | if_empty("x") }}', "x"),
    ('{{ trigger.csv | replace(",", ";") }}', "a;b;c"),
    ('{{ "aaa" | replace("a", "") }}', ""),
    ('{{ trigger.csv | split(",") }}', ["a", "b", "c"]),
    ("{{ trigger.csv | split }}", ["a", "b", "c"]),
    ('{{ "ab" | split("") }}', ["a", "b"]),
    ('{{ trigger.words | join("-") }}', "b-a-c"),
    ("{{ trigger.nums | join }}", "3, 1, 2"),
    ('{{ "abcdef" | truncate(3) }}', "abc…"),
    ('{{ "abcdef" | truncate(3, "...") }}', "abc..."),
    ('{{ "abcdef" | truncate(n=3, end="") }}', "abc"),
    ('{{ "abc" | truncate(5) }}', "abc"),
    ('{{ "abc" | truncate("2") }}', "ab…"),
    ("{{ trigger.html | urlencode }}", "a%20b%26c%2Fd"),
    ("{{ trigger.nested.a.b | urlencode }}", "c=deep"),
    ('{{ "hello" | base64_encode }}', "aGVsbG8="),
    ('{{ "aGVsbG8=" | base64_decode }}', "hello"),
    ('{{ "abc" | md5 }}', "900150983cd24fb0d6963f7d28e17f72"),
    ('{{ "abc" | sha256 }}', "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("{{ missing | upper }}", None),
    ("{{ 5 | upper }}", "5"),
    # conversions
    ("{{ trigger.total | float }}", 12.5),
    ("{{ trigger.total | int }}", 12),
    ('{{ " 42 " | int }}', 42),
    ("{{ 7.9 | int }}", 7),
    ("{{ 3 | float }}", 3.0),
    ("{{ trigger.contact.age | string }}", "36"),
    ("{{ missing | string }}", ""),
    ("{{ trigger.nested | json }}", '{"a":{"b":{"c":"deep"}}}'),
    ('{{ "x" | json }}', '"x"'),
    ("{{ missing | json }}", "null"),
    ("{{ trigger.json | parse_json }}", {"a": [1, 2]}),
    ("{{ trigger.json | parse_json | json }}", '{"a":[1,2]}'),
    ("{{ trigger.flag | to_bool }}", True),
    ('{{ "No" | to_bool }}', False),
    ("{{ 0 | to_bool }}", False),
    ("{{ missing | to_bool }}", False),
    ("{{ trigger.contact.tags | to_bool }}", True),
    # numbers
    ("{{ 2.5 | round }}", 3),
    ("{{ -2.5 | round }}", -3),
    ("{{ 2.345 | round(2) }}", 2.35),
    ("{{ trigger.total | round(1) }}", 12.5),
    ("{{ -4 | abs }}", 4),
    ('{{ "-1.5" | abs }}', 1.5),
    ("{{ trigger.nums | sum }}", 6),
    ("{{ trigger.floats | sum }}", 3.75),
    ("{{ trigger.nums | min }}", 1),
    ("{{ trigger.nums | max }}", 3),
    ("{{ trigger.words | max }}", "c"),
    ('{{ "[]" | parse_json | min }}', None),
    # lists and objects
    ("{{ trigger.contact.tags | length }}", 3),
    ("{{ trigger.contact.firstName | length }}", 3),
    ("{{ trigger.nested | length }}", 1),
    ("{{ missing | length }}", 0),
    ("{{ trigger.contact.tags | first }}", "vip"),
    ("{{ trigger.contact.tags | last }}", "vip"),
    ("{{ trigger.contact.firstName | first }}", "A"),
    ('{{ "[]" | parse_json | first }}', None),
    ("{{ trigger.nums | slice(1) }}", [1, 2]),
    ("{{ trigger.nums | slice(0, 2) }}", [3, 1]),
    ('{{ "abcdef" | slice(-3) }}', "def"),
    ("{{ trigger.nums | reverse }}", [2, 1, 3]),
    ('{{ "abc" | reverse }}', "cba"),
    ("{{ trigger.nested.a | keys }}", ["b"]),
    ("{{ trigger.nested.a.b | values }}", ["deep"]),
    ("{{ trigger.contact.tags | unique }}", ["vip", "new"]),
    ('{{ "[1, 1, true, {\\"a\\": 1}, {\\"a\\": 1}]" | parse_json | unique }}', [1, True, {"a": 1}]),
    ("{{ trigger.nums | sort }}", [1, 2, 3]),
    ("{{ trigger.words | sort | join('') }}", "abc"),
    ('{{ trigger.contact.tags | contains("vip") }}', True),
    ('{{ trigger.contact.tags | contains("VIP") }}', False),
    ('{{ trigger.contact.firstName | contains("d") }}', True),
    ('{{ trigger.nested | contains("a") }}', True),
    ('{{ missing | contains("a") }}', False),
    ("{{ trigger.nums | contains(1) }}", True),
    ('{{ trigger.nums | contains("1") }}', False),
    # dates and time zones (fixed moments)
    ("{{ trigger.created | date }}", "2024-03-10"),
    ('{{ trigger.created | date("%d/%m/%Y %H:%M", "America/New_York") }}', "10/03/2024 11:30"),
    ('{{ trigger.created | date(tz="Asia/Tokyo") }}', "2024-03-11"),
    ("{{ trigger.created | datetime }}", "2024-03-10T15:30:00+0000"),
    ('{{ trigger.created | datetime(tz="Europe/Paris") }}', "2024-03-10T16:30:00+0100"),
    ('{{ "2024-07-10T15:30:00Z" | datetime(tz="Europe/Paris") }}', "2024-07-10T17:30:00+0200"),
    ("{{ trigger.epoch | datetime }}", "2024-03-10T15:30:00+0000"),
    ("{{ trigger.epoch_ms | datetime }}", "2024-03-10T15:30:00+0000"),
    ('{{ "1710084600" | date }}', "2024-03-10"),
    ('{{ trigger.local | datetime("%H:%M %Z", "America/Chicago") }}', "09:00 CDT"),
    ('{{ "2024-03-09T09:00:00" | datetime("%H:%M %Z", "America/Chicago") }}', "09:00 CST"),
    ('{{ trigger.created | to_timezone("America/Los_Angeles") }}', "2024-03-10T08:30:00-07:00"),
    ('{{ trigger.created | to_timezone("Australia/Sydney") }}', "2024-03-11T02:30:00+11:00"),
    ("{{ trigger.created | add_days(1) }}", "2024-03-11T15:30:00+00:00"),
    ("{{ trigger.created | add_days(-10) }}", "2024-02-29T15:30:00+00:00"),
    ('{{ "2024-03-10T08:00:00-05:00" | add_hours(2.5) }}', "2024-03-10T10:30:00-05:00"),
    ("{{ trigger.local | add_minutes(90) }}", "2024-03-10T10:30:00"),
    ("{{ trigger.created | timestamp }}", 1710084600),
    ('{{ "2024-03-10T10:30:00-05:00" | timestamp }}', 1710084600),
    ("{{ trigger.epoch_ms | timestamp }}", 1710084600),
    ("{{ missing | date }}", None),
    ('{{ "" | add_days(1) }}', None),
    # contacts
    ("{{ trigger.contact.email | email }}", "ada@example.com"),
    ('{{ "not an email" | email }}', None),
    ('{{ "a@b" | email }}', None),
    ("{{ trigger.contact.phone | phone }}", "+14155552671"),
    ('{{ "415.555.2671" | phone("CA") }}', "+14155552671"),
    ('{{ "1-415-555-2671" | phone }}', "+14155552671"),
    ('{{ "+44 20 7946 0958" | phone }}', "+442079460958"),
    ('{{ "020 7946 0958" | phone("GB") }}', "+442079460958"),
    ('{{ "0044 20 7946 0958" | phone }}', "+442079460958"),
    ('{{ "030 123456" | phone("DE") }}', "+4930123456"),
    ('{{ "06 12 34 56 78" | phone("fr") }}', "+33612345678"),
    ('{{ "06 1234 5678" | phone("IT") }}', "+390612345678"),
    ('{{ "0412 345 678" | phone("AU") }}', "+61412345678"),
    ('{{ "98765 43210" | phone("IN") }}', "+919876543210"),
    ('{{ "090-1234-5678" | phone("JP") }}', "+819012345678"),
    ('{{ "(415) 555-2671 ext. 12" | phone }}', "+14155552671"),
    ("{{ 4155552671 | phone }}", "+14155552671"),
    ('{{ "555-2671" | phone }}', None),
    ('{{ "call me" | phone }}', None),
    ("{{ trigger.contact.name | first_name }}", "Jane"),
    ("{{ trigger.contact.name | last_name }}", "van der Berg"),
    ('{{ "Cher" | first_name }}', "Cher"),
    ('{{ "Cher" | last_name }}', ""),
    ('{{ "John Paul Smith Jr." | last_name }}', "Smith"),
    ('{{ "Smith, John" | first_name }}', "John"),
    ('{{ "Ludwig von Beethoven" | last_name }}', "von Beethoven"),
    ('{{ "  " | first_name }}', ""),
    # chains and whitespace in filter calls
    ('{{ trigger.contact.email|trim|lower|replace( "@" , " at " ) }}', "ada at example.com"),
    ("{{ trigger.items[1].price | round }}", 3),
    ('{{ trigger.csv | split(",") | reverse | join("") | upper }}', "CBA"),
    ("{{ trigger.contact.tags | unique | length }}", 2),
]


@pytest.mark.parametrize("template,expected", CASES, ids=[c[0][:60] for c in CASES])
def test_render(template, expected):
    result = render(template, CTX)
    assert result == expected
    assert type(result) is type(expected)


def test_case_table_is_large():
    assert len(CASES) >= 120


def test_every_filter_is_covered_by_the_table():
    used = " ".join(t for t, _ in CASES)
    assert [name for name in FILTERS if f"| {name}" not in used and f"|{name}" not in used] == []


# --------------------------------------------------------------------------- errors

ERRORS = [
    ("Hi {{ trigger.x | attr('y') }}", "unknown filter 'attr'", 18, "trigger.x | attr('y')"),
    ("{{ trigger.x", "unterminated '{{'", 0, "trigger.x"),
    ("ab {{ 'oops }}", "unterminated string literal", 6, None),
    ("{{ }}", "empty expression", 3, ""),
    ("{{ a | truncate }}", "needs argument 'n'", 7, "a | truncate"),
    ("{{ a | upper(1) }}", "takes at most 0", 7, "a | upper(1)"),
    ("{{ a | truncate('x') }}", "must be a whole number", 7, "a | truncate('x')"),
    ("{{ a | date(zone='UTC') }}", "has no argument 'zone'", 7, None),
    ("{{ a | replace('x', y) }}", "expected a value", 20, None),
    ("{{ a | round(n=1, n=2) }}", "given twice", 18, None),
    ("{{ a | date(tz='UTC', '%Y') }}", "positional argument after a named one", 22, None),
    ("{{ a. }}", "expected a key after '.'", 6, None),
    ("{{ a[b] }}", "expected an index or a quoted key", 5, None),
    ("{{ a[0 }}", "expected ']'", 7, None),
    ("{{ a b }}", "unexpected 'b'", 5, None),
    ("{{ a | }}", "expected a filter name", 7, None),
    ("{{ '\\q' }}", "invalid escape", 4, None),
    ("{{ 10000000000000000000 }}", "larger than", 3, None),
    ("{{ trigger.contact.tags | upper }}", "filter 'upper': expects text, got list", 26, None),
    ("{{ trigger.contact.firstName | sum }}", "filter 'sum': expects a list", 31, None),
    ("{{ 'abc' | int }}", "filter 'int'", 11, None),
    ("{{ 'x' | parse_json }}", "not valid JSON", 9, None),
    ("{{ 'soon' | date }}", "cannot read 'soon' as a date", 12, None),
    ("{{ trigger.created | date(tz='Mars/Olympus') }}", "unknown time zone", 21, None),
    ("{{ trigger.created | to_timezone('../etc/passwd') }}", "unknown time zone", 21, None),
    ("{{ 'x' | phone('XX') }}", "unknown country", 9, None),
    ("{{ '%%%' | base64_decode }}", "not base64", 11, None),
    ("{{ trigger.words | sum }}", "not a number", 19, None),
    ("{{ '[1, \"a\"]' | parse_json | sort }}", "only numbers or only text", 29, None),
    ("{{ 'x' | truncate(-1) }}", "must not be negative", 9, None),
    ("{{ 1000000000000000000 | float | int | abs }}", None, None, None),
]


@pytest.mark.parametrize("template,message,position,path", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_position_and_expression(template, message, position, path):
    if message is None:
        assert render(template, CTX) == 10**18
        return
    with pytest.raises(MappingError) as info:
        render(template, CTX)
    err = info.value
    assert message in err.message
    assert err.position == position
    assert str(err) == f"{err.message} at position {position}"
    if path is not None:
        assert err.path == path


def test_mapping_error_without_position():
    assert str(MappingError("boom")) == "boom"
    assert MappingError("boom", 3, "x").path == "x"


# --------------------------------------------------------------------------- public API

def test_compile_is_cached_and_reusable():
    tpl = compile_template("Hi {{ trigger.contact.firstName }}")
    assert compile_template("Hi {{ trigger.contact.firstName }}") is tpl
    assert tpl.source == "Hi {{ trigger.contact.firstName }}"
    assert tpl.render(CTX) == "Hi Ada"
    assert tpl.render({"trigger": {"contact": {"firstName": "Bo"}}}) == "Hi Bo"
    assert tpl.render({}) == "Hi "


def test_references():
    tpl = compile_template('{{ trigger.contact.email | lower }} {{ steps.find.contacts.0.id }} {{ "lit" }} '
                           '{{ trigger.contact["some key"] }} {{ trigger.contact.email }}')
    assert tpl.references == ["trigger.contact.email", "steps.find.contacts[0].id", 'trigger.contact["some key"]']
    tpl.references.append("mutated")
    assert len(tpl.references) == 3
    nested = {"a": ["{{ trigger.x }}", {"b": "{{ steps.s1.y[-1] }} {{ trigger.x }}"}], "c": 5, "d": "{{ bad"}
    assert mapping.references(nested) == ["trigger.x", "steps.s1.y[-1]"]


def test_render_value_renders_nested_strings_only():
    value = {"name": "{{ trigger.contact.firstName }}", "n": 5, "ok": True, "none": None,
             "list": ["{{ trigger.contact.age }}", "x{{ trigger.contact.age }}", 1.5],
             "{{ key }}": "keys are not templates"}
    assert render_value(value, CTX) == {"name": "Ada", "n": 5, "ok": True, "none": None,
                                        "list": [36, "x36", 1.5], "{{ key }}": "keys are not templates"}


def test_render_value_depth_is_bounded():
    value = "{{ trigger.contact.age }}"
    for _ in range(mapping.MAX_VALUE_DEPTH):
        value = [value]
    assert json.dumps(render_value(value, CTX)).count("36") == 1
    with pytest.raises(MappingError, match="levels of nesting"):
        render_value([value], CTX)


def test_validate_collects_every_error():
    errors = mapping.validate({"a": "{{ ok }}", "b": ["{{ x | nope }}", {"c": "{{ y"}], "d": 3})
    assert [e.message for e in errors] == ["unknown filter 'nope'", "unterminated '{{' (missing '}}')"]
    assert mapping.validate(["fine", "{{ trigger.a | default('') }}"]) == []
    deep = "{{ x }}"
    for _ in range(40):
        deep = [deep]
    assert "levels of nesting" in mapping.validate(deep)[0].message


def test_filters_registry_is_introspectable():
    truncate = FILTERS["truncate"]
    assert (truncate.min_args, truncate.max_args) == (1, 2)
    assert [p.name for p in truncate.params] == ["n", "end"]
    assert FILTERS["if_empty"] is FILTERS["default"]
    assert all(f.description for f in FILTERS.values())
    for required in ["lower", "upper", "trim", "title", "capitalize", "default", "replace", "split", "join",
                     "first", "last", "length", "truncate", "int", "float", "string", "json", "parse_json",
                     "round", "abs", "slice", "keys", "values", "sum", "min", "max", "unique", "sort",
                     "reverse", "contains", "date", "datetime", "to_timezone", "add_days", "add_hours",
                     "add_minutes", "timestamp", "email", "phone", "first_name", "last_name", "urlencode",
                     "base64_encode", "base64_decode", "md5", "sha256", "if_empty", "to_bool"]:
        assert required in FILTERS


def test_non_json_context_values_are_never_returned():
    ctx = {"obj": object(), "fn": print, "data": {"cls": int}}
    assert render("{{ obj }}", ctx) is None
    assert render("{{ fn }}|{{ data.cls }}", ctx) == "|"


def test_now_parses():
    assert len(render('{{ "now" | date }}', {})) == 10
    assert isinstance(render('{{ "now" | timestamp }}', {}), int)
