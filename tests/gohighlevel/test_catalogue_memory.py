"""The loaded catalogue stays small: every web and worker process holds it, and its schemas are
~7 MB as dicts. Operations keep them as `StoredJson` and parse one only when it is read; nothing
keeps the parsed catalogue.json. Reads give the same values as the file."""
import gc
import subprocess
import sys
import types
from pathlib import Path

from connectors import registry
from connectors.gohighlevel import OPERATIONS, catalogue, spec_operations
from connectors.spec import StoredJson

ROOT = Path(__file__).resolve().parents[2]


def _reachable_dicts(roots) -> int:
    """Dicts reachable from `roots` (not through modules, classes or functions)."""
    seen, stack, dicts = set(), list(roots), 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (type, types.ModuleType, types.FunctionType)):
            continue
        seen.add(id(obj))
        dicts += type(obj) is dict
        stack.extend(gc.get_referents(obj))
    return dicts


def test_operations_hold_no_schema_dicts():
    # ~760 today (each operation's `extra`); with schemas held as dicts it is ~19,000.
    assert _reachable_dicts([OPERATIONS, spec_operations()]) < 1500


def test_the_parsed_catalogue_is_not_kept():
    code = ("import gc, connectors.gohighlevel as g; gc.collect(); "
            "print(sum(1 for o in gc.get_objects() if type(o) is dict and 'operation_id' in o))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


def test_schemas_read_as_in_the_catalogue():
    ops = spec_operations()
    for entry in catalogue():
        op = ops[entry["key"]]
        assert op.body_schema == entry["body_schema"] and op.output_schema == entry["output_schema"]
        params = {p["name"]: p for p in entry["params"]}
        props = (entry["body_schema"] or {}).get("properties") or {}
        for p in op.params:
            if p.name in params and p.location != "body":
                assert p.schema == params[p.name].get("schema")
            elif p.body_path == ".":
                assert p.schema == (entry["body_schema"] or None)
            elif p.schema is not None:
                assert p.schema == props[p.body_path or p.name]


def test_a_read_schema_is_the_callers_own_copy():
    op = registry.get_operation("gohighlevel.create_contact")
    schema = op.output_schema
    schema["properties"].clear()
    assert op.output_schema["properties"]
    assert op.body_schema is not op.body_schema and op.body_schema == op.body_schema


def test_comparing_operations_does_not_parse_schemas(monkeypatch):
    def fail(self):
        raise AssertionError("a schema was parsed")

    mine = registry.operations("gohighlevel")
    curated = [op for op in mine if op.curated]
    monkeypatch.setattr(StoredJson, "load", fail)
    rest = [op for op in mine if op not in curated]  # what the builder's catalogue does
    assert len(rest) == len(mine) - len(curated)


def test_operations_with_plain_schemas_are_unchanged():
    from connectors.spec import Operation, Param

    schema = {"type": "object", "properties": {"id": {"type": "string"}}}
    op = Operation("k", "app", "action", "Label", output_schema=schema, params=(Param("p", schema=schema),))
    assert op.output_schema is schema and op.params[0].schema is schema and op.body_schema is None
    assert op == Operation("k", "app", "action", "Label", output_schema=dict(schema), params=(Param("p", schema=schema),))
    assert Operation("k", "app", "action", "Label", output_schema=StoredJson(schema)) == \
        Operation("k", "app", "action", "Label", output_schema=schema)
