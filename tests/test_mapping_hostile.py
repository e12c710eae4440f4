"""The mapping language against hostile input: template injection payloads from other engines, resource
limits (size, depth, time) and fuzzing. The language itself is tested in test_mapping.py."""
import json
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automations import mapping
from automations.mapping import FILTERS, MappingError, render
from automations.mapping_filters import Filter


# --------------------------------------------------------------------------- hostile input

BIG = "a" * 500_000
DEEP = {}
_node = DEEP
for _ in range(500):
    _node["x"] = {}
    _node = _node["x"]

HOSTILE_CTX = {
    "trigger": {"name": "x", "email": "a@b.co"}, "big": BIG, "deep": DEEP, "obj": object(),
    "many": ["w"] * 1000, "brackets": "[" * 100_000, "config": {"SECRET_KEY": "hunter2"},
    "this": {}, "x": "plain",
}

HOSTILE = [
    # n8n CVE-2025-68613 and its bypass variants
    "{{ this.constructor.constructor('return process')() }}",
    "{{ this.constructor.constructor(`return process`)() }}",
    "{{ this['constructor']['constructor']('return process')() }}",
    "{{ $json.constructor.constructor('return process.mainModule.require(\"child_process\")')() }}",
    "{{ (() => this.process)() }}",
    "{{ `${this.constructor.constructor('return process')()}` }}",
    "{{ (function(){ return this })().process.env }}",
    "{{ Object.getPrototypeOf(this).constructor }}",
    "{{ this.constructor.prototype }}",
    "{{ this.__proto__.polluted = 1 }}",
    # Jinja / Python SSTI
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ \"\".__class__ }}",
    "{{ [].__class__.__base__ }}",
    "{{ {}.__class__ }}",
    "{{ x|attr('__class__') }}",
    "{{ x | attr('__class__') | attr('__mro__') }}",
    "{% include '/etc/passwd' %}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ __import__('os') }}",
    "{{ __import__('os').system('id') }}",
    "{{ 7*7 }}",
    "{{ 10**10**10 }}",
    "{{ 7 + 7 }}",
    "{{ config.items() }}",
    "{{ config }}",
    "{{ request.application.__globals__ }}",
    "{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ trigger.__class__.__name__ }}",
    "{{ trigger['__class__'] }}",
    "{{ x if x else 1 }}",
    "{{ ''.join(['a']) }}",
    "{{ range(10) }}",
    "{{ x | default(__import__) }}",
    "{{ '{{7*7}}' }}",
    "{{ obj }}",
    "${7*7}",
    "#{7*7}",
    "<%= 7*7 %>",
    "*{7*7}",
    "{{=7*7}}",
    # resource exhaustion
    "{{ " + "(" * 10_000 + " }}",
    "{{ " + "(" * 10_000,
    "{{ " + "a." * 10_000 + "b }}",
    "{{ x " + "| upper " * 1_000 + "}}",
    "{{ x " + "| upper " * 32 + "}}",
    "x" * 1_000_000,
    "{{ '" + "a" * 200_000 + "' }}",
    "{{ big | replace('a', '" + "b" * 1000 + "') }}",
    "{{ big | replace('', 'bb') }}",
    "{{ many | join('" + "s" * 2000 + "') }}",
    "{{ big }}{{ big }}{{ big }}",
    "{{ big | split('') | join('') }}",
    "{{ deep }}",
    "x{{ deep }}",
    "{{ deep | json }}",
    "{{ deep | string }}",
    "{{ brackets | parse_json }}",
    "{{ 99999999999999999999999 }}",
    "{{ '999999999999999999999999' | int }}",
    "{{ '1e999' | float }}",
    "{{ 1" + "0" * 5000 + " }}",
    "{{ '2024-01-01' | add_days(1000000000) }}",
    "{{ 99999999999999 | date }}",
    "{{ x | date('" + "%c" * 300 + "') }}",
    "{{ x | date('%Y', tz='../../../../etc/passwd') }}",
    "{{ '\\u0000' }}",
    "{{ x }}}}",
    "{{{{ x }}}}",
]


def _assert_inert(result):
    text = json.dumps(result)  # JSON-serialisable
    for marker in ("<class", "<built-in", "module", "<function", "object at 0x"):
        assert marker not in text


@pytest.mark.parametrize("template", HOSTILE, ids=[h[:50] for h in HOSTILE])
def test_hostile_input_is_inert(template):
    try:
        result = render(template, HOSTILE_CTX)
    except MappingError as exc:
        assert isinstance(exc.message, str)
    else:
        if result is not DEEP:
            _assert_inert(result)
        assert result is None or isinstance(result, (str, dict))


def test_hostile_table_is_large():
    assert len(HOSTILE) >= 35


@pytest.mark.parametrize("template,limit", [
    ("{{ big | replace('a', '" + "b" * 1000 + "') }}", "longer than"),
    ("{{ big }}{{ big }}{{ big }}", "longer than"),
    ("{{ " + "a." * 100 + "b }}", "limited to 32 levels"),
    ("{{ x " + "| upper " * 33 + "}}", "more than 32 filters"),
    ("x" * 100_001, "limited to 100,000 characters"),
    ("x{{ deep }}", "deeper than 64"),
    ("{{ 99999999999999999999 }}", "larger than"),
])
def test_limits_raise_mapping_error(template, limit):
    with pytest.raises(MappingError, match=limit):
        render(template, HOSTILE_CTX)


def test_oversized_replace_fails_before_building_the_string():
    tracemalloc.start()
    try:
        with pytest.raises(MappingError, match="longer than"):
            render("{{ big | replace('a', '" + "b" * 1000 + "') }}", HOSTILE_CTX)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < len(BIG) * 4  # the replaced string would be about 1,000 times BIG


def test_deadline_is_enforced(monkeypatch):
    monkeypatch.setattr(mapping, "MAX_RENDER_SECONDS", -1.0)
    with pytest.raises(MappingError, match="took longer than"):
        render("{{ x | upper }}", {"x": "a"})


def test_time_spent_waiting_is_not_charged_to_the_render(monkeypatch):
    """A render held back by the OS or the GIL on a busy machine is not rendering: only its thread's CPU
    time counts. (The wall-clock budget failed an ordinary run under load.)"""
    waits = Filter("waits", lambda value: time.sleep(2 * mapping.MAX_RENDER_SECONDS) or value)
    monkeypatch.setitem(FILTERS, "waits", waits)
    assert render("{{ x | waits | upper }}", {"x": "a"}) == "A"


def test_cpu_spent_rendering_is_charged(monkeypatch):
    def burns(value):
        end = time.thread_time() + 2 * mapping.MAX_RENDER_SECONDS
        while time.thread_time() < end:
            pass
        return value

    monkeypatch.setitem(FILTERS, "burns", Filter("burns", burns))
    with pytest.raises(MappingError, match="took longer than"):
        render("{{ x | burns | upper }}", {"x": "a"})


def test_huge_context_string_renders_within_limits():
    assert render("{{ s | length }}", {"s": "y" * 1_000_000}) == 1_000_000
    assert len(render("<{{ s }}>", {"s": "y" * 999_998})) == 1_000_000


# --------------------------------------------------------------------------- fuzzing

TOKENS = ["{{", "}}", " ", ".", "[", "]", "|", "(", ")", ",", "=", "'", '"', "\\", "-", "0", "1", "-1", "1.5",
          "trigger", "contact", "tags", "items", "__class__", "constructor", "true", "null", "x", "'a'", '"b,c"',
          "upper", "default", "replace", "join", "split", "truncate", "date", "phone", "round", "int", "sum",
          "slice", "parse_json", "json", "first_name", "contains", "attr", "*", "**", "{%", "%}", "$", "`", "\n"]
CTX_FUZZ = {"trigger": {"contact": {"tags": ["a", "b"], "name": "Ann Lee"}, "items": [1, 2.5, "3"]},
            "x": "2024-03-10", "a": None}


ARG_LITERALS = ["1", "-2", "0", "2.5", "'x'", '","', "''", "true", "null", "'UTC'", "'%Y'", "'GB'", "n=1"]
PATH_PARTS = ["trigger", ".contact", ".tags", ".items", ".name", ".0", "[0]", "[-1]", '["a b"]', ".x", "a"]
JUNK = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=3)), max_size=16).map("".join)
FILTER_CALL = st.builds(
    lambda name, args: f" | {name}" + ("" if args is None else "(" + ", ".join(args) + ")"),
    st.sampled_from(sorted(FILTERS)), st.none() | st.lists(st.sampled_from(ARG_LITERALS), max_size=3))
GRAMMARISH = st.builds(
    lambda parts, filters, text: text + "{{ " + "".join(parts) + "".join(filters) + " }}",
    st.lists(st.sampled_from(PATH_PARTS), min_size=1, max_size=5), st.lists(FILTER_CALL, max_size=4),
    st.sampled_from(["", "Hi ", " "]))
TEMPLATES = st.one_of(JUNK, JUNK.map(lambda s: "{{ " + s + " }}"), GRAMMARISH)


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(TEMPLATES)
def test_fuzzed_templates_only_raise_mapping_error(template):
    try:  # the evaluator's own size, depth and time limits end runaway templates with a MappingError
        result = render(template, CTX_FUZZ)
    except MappingError:
        return
    _assert_inert(result)
