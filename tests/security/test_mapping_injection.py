"""Mapping-language injection (reliability.md F3/F4): payloads from real template/expression sandbox escapes,
through the real engine, then a grammar-based hypothesis fuzz of `automations.mapping.render`.

Pass: every step ends with a `mapping` error or plain JSON data (literal text); no Python object, module,
class or secret is reachable; a render stays inside its time and size bounds.
"""
import json
import time

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automations import mapping
from automations.engine import execute_run, start_run
from automations.flows import FlowInvalid, publish
from automations.models import Flow, FlowVersion, Run, StepResult

# (source, payload). Sources: n8n CVE-2025-68613 / GHSA-v98v-ff95-f3cp and CVE-2026-1470 (expression
# sandbox escapes), Jinja2 CVE-2024-56326 (indirect str.format) and CVE-2025-27516 (|attr bypass),
# classic Jinja/Django SSTI chains (HackTricks/PayloadsAllTheThings), other template syntaxes, and
# resource-exhaustion inputs (reliability.md F3).
PAYLOADS = [
    ("CVE-2025-68613", "{{ this.constructor.constructor('return process')() }}"),
    ("CVE-2025-68613", "{{ $json.constructor.constructor('return process.mainModule.require(\"child_process\").execSync(\"id\")')() }}"),
    ("CVE-2025-68613 bypass (template literal)", "{{ this[`constructor`][`constructor`]`return process`() }}"),
    ("CVE-2025-68613 bypass", "{{ this['const'+'ructor']['const'+'ructor']('return process')() }}"),
    ("CVE-2026-1470", "{{ (function(){ return this })().process.env }}"),
    ("CVE-2026-1470", "{{ Object.getPrototypeOf(Object.getPrototypeOf(this)).constructor }}"),
    ("n8n prototype", "{{ [].constructor.constructor('return this')() }}"),
    ("n8n prototype", "{{ trigger.constructor.constructor }}"),
    ("n8n prototype", "{{ trigger.__proto__.polluted }}"),
    ("CVE-2024-56326", "{{ '{0.__class__.__init__.__globals__}'.format(trigger) }}"),
    ("CVE-2024-56326", "{{ trigger.email.format_map }}"),
    ("CVE-2025-27516", "{{ trigger | attr('__class__') }}"),
    ("CVE-2025-27516", "{{ trigger | attr('format') }}"),
    ("CVE-2025-27516", "{{ 'x' | attr('__class__') | attr('__mro__') }}"),
    ("Jinja SSTI", "{{ ''.__class__ }}"),
    ("Jinja SSTI", "{{ ''.__class__.__mro__[1].__subclasses__() }}"),
    ("Jinja SSTI", "{{ ().__class__.__bases__[0].__subclasses__() }}"),
    ("Jinja SSTI", "{{ config.__class__.__init__.__globals__['os'].popen('id').read() }}"),
    ("Jinja SSTI", "{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}"),
    ("Jinja SSTI", "{{ self._TemplateReference__context.cycler.__init__.__globals__.os }}"),
    ("Jinja SSTI", "{{ lipsum.__globals__['os'].popen('id').read() }}"),
    ("Jinja SSTI", "{{ cycler.__init__.__globals__.os.popen('id').read() }}"),
    ("Jinja SSTI", "{{ trigger.__class__.__init__.__globals__ }}"),
    ("Jinja SSTI", "{{ trigger['__class__']['__mro__'] }}"),
    ("Jinja statements", "{% include '/etc/passwd' %}"),
    ("Jinja statements", "{% import os %}{{ os.system('id') }}"),
    ("Jinja statements", "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}"),
    ("Django DTL", "{{ settings.SECRET_KEY }}"),
    ("Django DTL", "{% debug %}{{ request.META }}"),
    ("Python builtins", "{{ __import__('os').system('id') }}"),
    ("Python builtins", "{{ eval('1+1') }}"),
    ("Python builtins", "{{ exec('import os') }}"),
    ("Python builtins", "{{ open('/etc/passwd').read() }}"),
    ("Python builtins", "{{ globals() }}"),
    ("filter args", "{{ trigger.email | default(trigger.__class__) }}"),
    ("filter args", "{{ trigger.email | replace(__import__('os'), 'x') }}"),
    ("unicode", "{{ trigger.\uff3f\uff3fclass\uff3f\uff3f }}"),
    ("unicode", "{{ trigger.\\u005f\\u005fclass\\u005f\\u005f }}"),
    ("second order", "{{ trigger.stored_payload }}"),
    ("other engines", "${7*7} #{7*7} <%= 7*7 %> {{=7*7}} [[${7*7}]]"),
    ("other engines", "${T(java.lang.Runtime).getRuntime().exec('id')}"),
    ("exhaustion", "{{ 10**10**10 }}"),
    ("exhaustion", "{{ 99999999999999999999999999999999999999999999999999999999999999 }}"),
    ("exhaustion", "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}"),
    ("exhaustion", "{{ trigger" + ".a" * 5000 + " }}"),
    ("exhaustion", "{{ trigger.email" + " | upper" * 5000 + " }}"),
    ("exhaustion", "{{ '" + "A" * 1_000_000 + "' }}"),
    ("exhaustion", "{{ 'AAAAAAAAAA'" + " | replace('A', 'AAAAAAAAAA')" * 12 + " }}"),
    ("exhaustion", "{{ trigger.email }}" * 20_000),
]
MARKERS = ("<class", "<function", "<built-in", "<module", "<bound", "object at 0x", "uid=", "root:x:", "__globals__",
           "SECRET_KEY")
DATA = {"email": "jane@example.com", "stored_payload": "{{ ''.__class__.__mro__ }} {{ settings.SECRET_KEY }}"}


def _assert_plain(value, payload):
    """Plain JSON data with no trace of a Python object or secret."""
    text = json.dumps(value)  # raises for anything that is not JSON data
    assert len(text) <= 1_100_000
    for marker in MARKERS:
        if marker not in payload + DATA["stored_payload"]:  # a literal echo of the input text is fine
            assert marker not in text, (payload[:80], marker)
    assert django_settings.SECRET_KEY not in text


@pytest.mark.django_db
@pytest.mark.parametrize("source,payload", PAYLOADS, ids=[f"{i:02d}-{s}" for i, (s, _) in enumerate(PAYLOADS)])
def test_payload_through_the_real_engine(ws, source, payload):
    definition = {"trigger": {"operation": "webhook.catch_hook", "inputs": {}},
                  "steps": [{"id": "s1", "key": "fmt", "operation": "flow.formatter",
                             "inputs": {"value": payload, "transform": "json"}}]}
    flow = Flow.objects.create(workspace=ws, name="Injection", enabled=True, draft=definition)
    try:
        publish(flow)  # publishing may already refuse it ...
    except FlowInvalid:
        pass
    # ... but the engine must hold on its own (an imported or older version), so run it regardless.
    version = FlowVersion.objects.create(workspace=ws, flow=flow, number=99, definition=definition)
    run = start_run(flow, DATA, version=version)
    started = time.monotonic()
    execute_run(run.pk)
    assert time.monotonic() - started < 5
    run.refresh_from_db()
    step = run.steps.get(path="s1")
    if step.status == StepResult.FAILED:
        assert step.error_category == "mapping", (step.error_category, step.error_message)
        assert run.status == Run.FAILED and run.error_category == "mapping"
        _assert_plain(step.error_message, payload)
    else:
        assert step.status == StepResult.SUCCEEDED, step.status
        assert run.status == Run.SUCCEEDED
        _assert_plain(step.input, payload)
        _assert_plain(step.output, payload)
        if "{{" not in payload:
            assert step.input["value"] == payload  # literal text stays literal
        if source == "second order":
            assert step.input["value"] == DATA["stored_payload"]  # data is not evaluated again


def test_there_are_at_least_30_payloads():
    assert len(PAYLOADS) >= 30


def test_data_is_never_evaluated_again():
    """A value from the trigger that looks like a template is returned as text, not evaluated."""
    out = mapping.render("{{ trigger.stored_payload }}", {"trigger": DATA})
    assert out == DATA["stored_payload"]


# --------------------------------------------------------------------------------------------- fuzz

NAMES = st.sampled_from(["trigger", "steps", "loop", "value", "__class__", "__globals__", "constructor", "a", "items",
                         "0", "format", "mro", "self", "config"])
LITERALS = st.one_of(
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: f"{f:.3f}"),
    st.text(max_size=20).map(json.dumps),
    st.sampled_from(["true", "false", "null", "''", '""', "'{{'", "'}}'"]),
)
SEGMENT = st.one_of(NAMES.map(lambda n: "." + n), st.integers(-5, 5).map(lambda i: f"[{i}]"),
                    st.text(max_size=8).map(lambda t: f"[{json.dumps(t)}]"))
PATH = st.builds(lambda head, segs: head + "".join(segs), NAMES, st.lists(SEGMENT, max_size=6))
ARGS = st.lists(st.one_of(LITERALS, st.builds(lambda n, v: f"{n}={v}", NAMES, LITERALS)), max_size=3)
FILTER = st.builds(lambda name, args, call: name + (f"({', '.join(args)})" if call else ""),
                   st.sampled_from(sorted(mapping.FILTERS) + ["attr", "format", "eval", "__class__"]), ARGS, st.booleans())
EXPR = st.builds(lambda primary, filters: " | ".join([primary, *filters]), st.one_of(PATH, LITERALS),
                 st.lists(FILTER, max_size=4))
NOISE = st.sampled_from(["", " ", "{{", "}}", "{%", "%}", "|", "(", ")", ".", "[", "]", "'", '"', "\\", "__", "**"])
TEMPLATE = st.lists(st.one_of(st.text(max_size=10), EXPR.map(lambda e: "{{ " + e + " }}"),
                              st.builds(lambda a, b: a + b, EXPR, NOISE).map(lambda e: "{{ " + e + " }}"), NOISE),
                    min_size=1, max_size=5).map("".join)
CONTEXT = {"trigger": {"a": {"b": [1, 2, {"c": "x"}]}, "items": [{"a": 1}, {"a": 2}], "email": "A@B.CO",
                       "__class__": "not-a-class", "0": "zero"},
           "steps": {"a": {"items": ["x", "y"]}}, "loop": {"item": {"a": 3}, "index": 0}, "value": "  Mixed Case  "}


@settings(max_examples=2500, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(TEMPLATE)
def test_fuzz_render_returns_json_data_or_mapping_error(source):
    started = time.monotonic()
    try:
        out = mapping.render(source, CONTEXT)
    except mapping.MappingError as exc:
        assert isinstance(str(exc), str)
        return
    finally:
        assert time.monotonic() - started < 1.0  # bounded (budget 50 ms; slack for a loaded CI machine)
    text = json.dumps(out)  # JSON data only
    for marker in ("<class", "<function", "<built-in", "<module", "object at 0x"):
        assert marker not in text or marker in source
