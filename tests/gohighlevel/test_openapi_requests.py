"""Every operation builds a request that the official OpenAPI document accepts, checked with
jsonschema against the spec's own parameter and requestBody schemas (refs resolved by a registry)."""
import json
import re
from functools import lru_cache
from urllib.parse import unquote, urljoin

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from connectors.executor import build_request
from connectors.gohighlevel import generate, spec_operations

from .conftest import FakeCredentials

BASE = "https://spec.test/"


def _relax(node):
    """NestJS writes untyped fields as a bare {"type": "object"} / "array" / "any": accept any value."""
    if isinstance(node, dict):
        bare = not any(k in node for k in ("properties", "additionalProperties", "$ref", "allOf", "oneOf", "anyOf", "items"))
        untyped = node.get("type") == "any" or (bare and node.get("type") in ("object", "array"))
        return {k: _relax(v) for k, v in node.items() if not (k == "type" and untyped)}
    if isinstance(node, list):
        return [_relax(v) for v in node]
    return node


@lru_cache(maxsize=1)
def spec():
    docs, common = generate.load_specs()
    registry = Registry().with_resource(f"{BASE}common/common-schemas.json", Resource(_relax(common), DRAFT202012))
    raw = {}
    for file, doc in docs.items():
        registry = registry.with_resource(f"{BASE}apps/{file}.json", Resource(_relax(doc), DRAFT202012))
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if method in generate.METHODS:
                    raw[(file, method.upper(), path)] = _relax(op)
    return raw, registry


def _absolute(node, base):
    if isinstance(node, dict):
        return {k: (urljoin(base, v) if k == "$ref" else _absolute(v, base)) for k, v in node.items()}
    if isinstance(node, list):
        return [_absolute(v, base) for v in node]
    return node


def validate(file, schema, value):
    validator = Draft202012Validator(_absolute(schema, f"{BASE}apps/{file}.json"), registry=spec()[1])
    return [f"{list(e.absolute_path)} {e.message}" for e in validator.iter_errors(value)]


def example(schema, depth=0, use_examples=True, optional=True):
    """A value for a (resolved, catalogue) schema: enums first, then one per type."""
    schema = schema or {}
    kinds = {"string": str, "number": (int, float), "integer": int, "boolean": bool, "array": list, "object": dict}
    if use_examples and "example" in schema and isinstance(schema["example"], kinds.get(schema.get("type"), ())):
        return schema["example"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return example(schema[key][0], depth, use_examples, optional)
    if schema.get("allOf"):
        merged = {}
        for part in schema["allOf"]:
            value = example(part, depth, use_examples, optional)
            merged = {**merged, **value} if isinstance(value, dict) else value
        return merged
    kind = schema.get("type")
    if kind in ("number", "integer"):
        return max(1, schema.get("minimum") or 1)
    if kind == "boolean":
        return True
    if kind == "array":
        return [example(schema.get("items") or {"type": "string"}, depth + 1, use_examples, optional)]
    if kind == "object" or "properties" in schema:
        if depth > 8:
            return {}
        props = schema.get("properties") or {}
        return {k: "America/New_York" if k == "timezone" else example(v, depth + 1, use_examples, optional)
                for k, v in props.items()
                if k in (schema.get("required") or []) or (depth == 0 and optional)}
    if schema.get("format") == "date-time":
        return "2026-01-01T00:00:00.000Z"
    if schema.get("format") == "email":
        return "a@example.com"
    return "abc123"


def example_inputs(op, use_examples=True, optional=True):
    """Inputs for every required param (and, with `optional`, every body field)."""
    inputs = {}
    for p in op.params:
        if p.source:
            continue
        if p.location == "body" and p.body_path == ".":
            inputs[p.name] = example(op.body_schema or {"type": "object"}, 0, use_examples, optional)
        elif p.name == "timezone" and p.location == "body":
            inputs[p.name] = "America/New_York"
        elif p.required or (p.location == "body" and optional) or p.enum:
            inputs[p.name] = example(p.schema or {"type": p.type, "enum": list(p.enum)}, 1, use_examples, optional)
    return inputs


# Spec examples are sometimes wrong (e.g. "forever | fixed" for an enum); generated values cannot
# satisfy every pattern. Try richer inputs first and fall back to required-only inputs.
ATTEMPTS = ((True, True), (False, True), (True, False), (False, False))


def _coerce(value, schema):
    if schema.get("type") in ("number", "integer"):
        return float(value) if "." in value else int(value)
    if schema.get("type") == "boolean":
        return value == "true"
    return value


UNSATISFIABLE = {"gohighlevel.store.create_store_setting", "gohighlevel.store.create_shipping_zone"}
# The check still runs for these; strict: if GoHighLevel fixes the spec, the unexpected pass fails the suite.
UNSATISFIABLE_MARK = pytest.mark.xfail(strict=True, reason="the spec's own schema cannot be satisfied "
                                                          "(a number field whose enum holds a list)")
OPS = [pytest.param(op, id=op.key, marks=[UNSATISFIABLE_MARK] if op.key in UNSATISFIABLE else [])
       for op in sorted(spec_operations().values(), key=lambda o: o.key)]


@pytest.mark.parametrize("op", OPS)
def test_request_validates_against_openapi(op):
    for use_examples, optional in ATTEMPTS:
        errors = check(op, example_inputs(op, use_examples, optional))
        if not errors:
            break
    assert not errors, errors


def check(op, inputs) -> list:
    file = op.key.split(".")[1]
    file = next(f for f, m, p in spec()[0] if (m, p) == (op.method, op.path) and generate.snake(f) == file)
    raw = spec()[0][(file, op.method, op.path)]
    creds = FakeCredentials(config={"base_url": "https://services.leadconnectorhq.com"})
    req = build_request(op, inputs, creds)
    errors = []
    # method and exact path: the URL matches the spec's template, every path param is valid
    assert req["method"] == op.method
    path = req["url"].removeprefix("https://services.leadconnectorhq.com")
    rx = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(op.path)) + "$"
    match = re.match(rx, path)
    assert match, (path, op.path)
    declared = {p["name"]: p for p in raw["parameters"] if p["in"] == "path"}
    for name, value in match.groupdict().items():
        schema = (declared.get(name) or {}).get("schema") or {"type": "string"}
        errors += validate(file, schema, _coerce(unquote(value), schema))
    # query: required present, each value valid, nothing undeclared
    query_spec = {p["name"]: p for p in raw["parameters"] if p["in"] == "query"}
    assert set(req["params"]) <= set(query_spec), set(req["params"]) - set(query_spec)
    for name, p in query_spec.items():
        if p.get("required"):
            assert name in req["params"], f"missing required query {name}"
        if name in req["params"]:
            value = req["params"][name]
            schema = p.get("schema") or {}
            value = [_coerce(v, schema.get("items", {})) if isinstance(v, str) else v for v in value] \
                if isinstance(value, list) else (_coerce(value, schema) if isinstance(value, str) else value)
            errors += validate(file, schema, value)
    # headers: the declared Version value
    version = [p for p in raw["parameters"] if p["in"] == "header" and p["name"] == "Version"]
    if version:
        errors += validate(file, version[0]["schema"], req["headers"].get("Version"))
    # body
    body_spec = raw.get("requestBody")
    if body_spec:
        ctype = next(iter(body_spec["content"]))
        body = req.get("json", req.get("data"))
        if body_spec.get("required"):
            assert body is not None, "required body not sent"
        assert ("data" in req) == (ctype == "application/x-www-form-urlencoded")
        schema = body_spec["content"][ctype].get("schema")
        if schema and body is not None:
            errors += validate(file, schema, body)
    else:
        assert "json" not in req and "data" not in req
    return errors
