"""The official GoHighLevel OpenAPI documents (``connectors/gohighlevel/openapi/*.json``), loaded once:
operation lookup by method + path, request validation (path, query, JSON body) and response
validation (used by the tests so the sandbox cannot drift from the documented schemas)."""
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urljoin

from django.conf import settings
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE = "https://spec.sandbox.local/"
METHODS = ("get", "post", "put", "delete", "patch")


def openapi_dir() -> Path:
    return Path(settings.BASE_DIR) / "connectors" / "gohighlevel" / "openapi"


@dataclass
class Operation:
    method: str
    template: str
    file: str
    raw: dict
    regex: re.Pattern = field(repr=False)

    @property
    def uri(self) -> str:
        return f"{BASE}apps/{self.file}"

    @property
    def versions(self) -> list:
        for p in self.raw.get("parameters", []):
            if p.get("in") == "header" and p.get("name") == "Version":
                return p.get("schema", {}).get("enum") or []
        return []

    @property
    def security(self):
        return self.raw.get("security")

    def params(self, where: str) -> list:
        return [p for p in self.raw.get("parameters", []) if p.get("in") == where]

    def body_schema(self):
        content = (self.raw.get("requestBody") or {}).get("content", {})
        return (content.get("application/json") or {}).get("schema")

    def response_schema(self, status: int):
        resp = self.raw.get("responses", {}).get(str(status)) or {}
        return ((resp.get("content") or {}).get("application/json") or {}).get("schema")

    def success_status(self) -> int:
        codes = sorted(int(c) for c in self.raw.get("responses", {}) if c.startswith("2"))
        return codes[0] if codes else 200


def _regex(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", template)
    rx = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{rx}$")


def _specificity(op: Operation):
    """Literal segments win over parameters ("/calendars/events" before "/calendars/{calendarId}")."""
    segs = op.template.strip("/").split("/")
    return tuple(1 if s.startswith("{") else 0 for s in segs)


@lru_cache(maxsize=1)
def _load():
    registry = Registry()
    ops = []
    folder = openapi_dir()
    for f in sorted(folder.glob("*.json")):
        doc = _relax(json.loads(f.read_text()))
        if f.name == "common-schemas.json":
            registry = registry.with_resource(f"{BASE}common/{f.name}", Resource(doc, DRAFT202012))
            continue
        registry = registry.with_resource(f"{BASE}apps/{f.name}", Resource(doc, DRAFT202012))
        for template, item in doc.get("paths", {}).items():
            for method, raw in item.items():
                if method in METHODS:
                    ops.append(Operation(method.upper(), template, f.name, raw, _regex(template)))
    ops.sort(key=_specificity)
    return ops, registry


def operations() -> list:
    return _load()[0]


def find(method: str, path: str):
    """``(operation, path_params)`` for a request, or ``(None, {})``."""
    for op in operations():
        if op.method == method:
            m = op.regex.match(path)
            if m:
                return op, m.groupdict()
    return None, {}


def lookup(method: str, template: str) -> Operation | None:
    for op in operations():
        if op.method == method and op.template == template:
            return op
    return None


def _untyped(node: dict) -> bool:
    """NestJS' swagger generator writes ``any``/union fields as a bare ``{"type": "object"}`` or an
    ``{"type": "array"}`` without ``items`` (e.g. ``startTime``, ``firstObjectLabel``, pipeline
    stages); the live API sends strings and objects there, so such fields accept any value."""
    t = node.get("type")
    bare = not any(k in node for k in ("properties", "additionalProperties", "$ref", "allOf", "oneOf", "anyOf", "items"))
    return t == "any" or (bare and t in ("object", "array"))


def _relax(node):
    """The document with ``_untyped`` fields opened up (applied once, at load time)."""
    if isinstance(node, dict):
        return {k: _relax(v) for k, v in node.items() if not (k == "type" and _untyped(node))}
    if isinstance(node, list):
        return [_relax(v) for v in node]
    return node


def _absolute(node, base: str):
    """Copy of a schema fragment with its ``$ref``s made absolute against its document."""
    if isinstance(node, dict):
        return {k: (urljoin(base, v) if k == "$ref" else _absolute(v, base)) for k, v in node.items()}
    if isinstance(node, list):
        return [_absolute(v, base) for v in node]
    return node


def validator(op: Operation, schema: dict) -> Draft202012Validator:
    """A validator for a schema fragment of ``op``'s document; ``$ref``s resolve in that document."""
    return Draft202012Validator(_absolute(schema, op.uri), registry=_load()[1])


def resolve(op: Operation, schema: dict | None) -> dict:
    """Follow top-level ``$ref``s of a schema (one document level) for inspection."""
    registry = _load()[1]
    resolver = registry.resolver(base_uri=op.uri)
    depth = 0
    while schema and "$ref" in schema and depth < 10:
        schema = resolver.lookup(schema["$ref"]).contents
        depth += 1
    return schema or {}


# --- request validation ------------------------------------------------------------------------

def _coerce(value: str, schema: dict):
    t = schema.get("type")
    try:
        if t == "number":
            return float(value) if "." in value else int(value)
        if t == "integer":
            return int(value)
    except ValueError:
        return value
    if t == "boolean" and value in ("true", "false"):
        return value == "true"
    if t == "array":
        return value.split(",") if isinstance(value, str) else value
    return value


def _message(name: str, err) -> str:
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else name
        return f"{'.'.join([*map(str, err.absolute_path), missing]) if err.absolute_path else missing} should not be empty"
    where = ".".join(str(p) for p in err.absolute_path) or name
    if err.validator == "type":
        return f"{where} must be a {err.validator_value if isinstance(err.validator_value, str) else err.validator_value[0]}"
    if err.validator == "enum":
        return f"{where} must be one of the following values: {', '.join(map(str, err.validator_value))}"
    return f"{where} {err.message}"


# Body fields the documents mark required but the live API does not ask for (FACTS.md: real
# clients send e.g. {"type": "SMS", "contactId", "message"}); the sandbox does not demand them.
NOT_REALLY_REQUIRED = {
    ("POST", "/conversations/messages"): {"subType", "status"},
    ("POST", "/opportunities/upsert"): {"followers", "isRemoveAllFollowers", "followersActionType"},
}


def validate_request(op: Operation, path_params: dict, query: dict, body) -> list:
    """Messages in GoHighLevel's class-validator style; empty when the request is valid."""
    relaxed = {f"{name} should not be empty" for name in NOT_REALLY_REQUIRED.get((op.method, op.template), ())}
    return [m for m in _request_errors(op, path_params, query, body) if m not in relaxed]


def _request_errors(op: Operation, path_params: dict, query: dict, body) -> list:
    errors = []
    for where, values in (("path", path_params), ("query", query)):
        for p in op.params(where):
            name, schema = p["name"], p.get("schema") or {}
            if name not in values or values[name] in ("", None):
                if p.get("required"):
                    errors.append(f"{name} should not be empty")
                continue
            value = _coerce(values[name], schema)
            if schema.get("type") == "array" and not isinstance(value, list):
                value = [value]
            values[name] = value
            for err in validator(op, schema).iter_errors(value):
                errors.append(_message(name, err))
    schema = op.body_schema()
    if schema is not None:
        resolved = resolve(op, schema)
        if body is None:
            body = {}
        if resolved.get("properties") or resolved.get("required"):
            errors += [_message("body", e) for e in validator(op, schema).iter_errors(body)]
    return errors


def validate_response(op: Operation, status: int, body) -> list:
    """Schema errors of a response body against the documented response for ``status`` (tests)."""
    schema = op.response_schema(status)
    if schema is None:
        return []
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator(op, schema).iter_errors(body)]
