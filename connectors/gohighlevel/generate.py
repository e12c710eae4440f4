"""OpenAPI files (openapi/*.json) -> catalogue.json: one entry per operation, deterministic.

    python manage.py generate_catalogue          # rewrite catalogue.json
    python manage.py generate_catalogue --check  # exit 1 when the committed file is stale

Each entry keeps what the executor and the builder need: method, exact path, parameters with
types/enums/required flags, the operation's own `Version`, scopes, token type, body/response
schemas (refs resolved, cycles cut) and the pagination style. Spec defects are fixed by
`overrides.py`, never by editing the output.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from . import overrides

HERE = Path(__file__).parent
SPEC_DIR = HERE / "openapi"
CATALOGUE = HERE / "catalogue.json"
JSON_TYPES = {"string", "number", "integer", "boolean", "array", "object"}
METHODS = ("get", "post", "put", "patch", "delete")
COMMON = "common-schemas.json"
MAX_DEPTH = 6
# Schema keywords kept in the catalogue (the rest is documentation noise).
KEEP = {"type", "properties", "items", "required", "enum", "description", "example", "default", "format",
        "additionalProperties", "oneOf", "anyOf", "allOf", "nullable", "minimum", "maximum", "title"}
SECURITY = {"bearer": "location", "Location-Access": "location", "Agency-Access": "agency",
            "Location-Access-Only": "location", "Agency-Access-Only": "agency"}


def snake(text: str) -> str:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return re.sub(r"[^a-zA-Z0-9]+", "_", text).strip("_").lower()


def load_specs(spec_dir: Path = SPEC_DIR) -> tuple[dict, dict]:
    """({file stem: document}, common document)."""
    docs = {f.stem: json.loads(f.read_text()) for f in sorted(spec_dir.glob("*.json")) if f.name != COMMON}
    return docs, json.loads((spec_dir / COMMON).read_text())


class Resolver:
    """Inline `$ref`s (local and ../common) with a depth limit; a cycle becomes a bare type."""

    def __init__(self, doc: dict, common: dict):
        self.doc, self.common = doc, common

    def _target(self, ref: str, doc: dict) -> tuple[dict, dict]:
        file, _, pointer = ref.partition("#")
        if file:
            doc = self.common
        node = doc
        for part in pointer.strip("/").split("/"):
            node = node[part]
        return node, doc

    def resolve(self, node, doc=None, depth=0, seen=()):
        doc = doc or self.doc
        if isinstance(node, list):
            return [self.resolve(v, doc, depth, seen) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            if ref in seen or depth > MAX_DEPTH:
                return {"type": "object"}
            target, tdoc = self._target(ref, doc)
            return self.resolve(target, tdoc, depth + 1, (*seen, ref))
        out = {}
        for key, value in node.items():
            if key not in KEEP:
                continue
            if key == "properties":
                out[key] = {k: self.resolve(v, doc, depth, seen) for k, v in value.items()}
            elif isinstance(value, (dict, list)) and key not in ("enum", "example", "default", "required"):
                out[key] = self.resolve(value, doc, depth, seen)
            else:
                out[key] = value
        return out


def _param(raw: dict, resolver: Resolver) -> dict:
    schema = resolver.resolve(raw.get("schema") or {"type": "string"})
    kind = schema.get("type") if schema.get("type") in JSON_TYPES else "string"
    entry = {"name": raw["name"], "in": raw["in"], "type": kind,
             "required": bool(raw.get("required")) or raw["in"] == "path",
             "description": (raw.get("description") or "").strip()}
    enum = schema.get("enum") or (schema.get("items") or {}).get("enum")
    if enum:
        entry["enum"] = enum
    if "default" in schema:
        entry["default"] = schema["default"]
    if schema.get("type") == "array":
        entry["schema"] = schema
    return entry


def _pagination(where: tuple, params: list, body: dict | None, output: dict | None) -> dict | None:
    if where in overrides.PAGINATION:
        return overrides.PAGINATION[where]
    if where in overrides.NO_PAGINATION:
        return None
    query = {p["name"] for p in params if p["in"] == "query"}
    body_props = set((body or {}).get("properties") or {})
    items = _items_path(output)
    if not items:
        return None
    if {"skip", "limit"} <= query:
        return {"style": "skip_limit", "items_path": items, "offset_param": "skip", "limit_param": "limit", "page_size": 100}
    if {"limit", "offset"} <= query:
        return {"style": "limit_offset", "items_path": items, "offset_param": "offset", "limit_param": "limit",
                "page_size": 100}
    if {"page", "limit"} <= query:
        return {"style": "page", "items_path": items, "page_param": "page", "limit_param": "limit", "page_size": 100}
    if {"skip", "limit"} <= body_props:
        return {"style": "skip_limit", "items_path": items, "offset_param": "skip", "limit_param": "limit",
                "page_size": 100, "in_body": True}
    return None


def _items_path(output: dict | None) -> str:
    """The response's only top-level array property (list endpoints)."""
    arrays = [k for k, v in ((output or {}).get("properties") or {}).items() if v.get("type") == "array"]
    return arrays[0] if len(arrays) == 1 else ""


def _success_schema(raw: dict, resolver: Resolver) -> dict | None:
    for code in sorted(c for c in raw.get("responses", {}) if c.startswith("2")):
        content = raw["responses"][code].get("content") or {}
        schema = (content.get("application/json") or {}).get("schema")
        if schema:
            return resolver.resolve(schema)
    return None


def operation_entry(file: str, method: str, path: str, raw: dict, doc: dict, common: dict) -> dict:
    where = (file, method.upper(), path)
    resolver = Resolver(doc, common)
    params, version = [], overrides.VERSIONS.get(where)
    for p in raw.get("parameters", []):
        if p["in"] == "header":
            if p["name"] == "Version":
                version = (p.get("schema") or {}).get("enum", [None])[0]
            continue  # Authorization is applied from the connection
        params.append(_param(p, resolver))
    for name, extra in overrides.UNDECLARED_PATH_PARAMS.get(where, {}).items():
        params.append(_param({"name": name, "in": "path", "required": True, **extra}, resolver))
    declared = {p["name"] for p in params if p["in"] == "path"}
    missing = set(re.findall(r"\{(\w+)\}", path)) - declared
    if missing:
        raise ValueError(f"{file} {method.upper()} {path}: undeclared path params {sorted(missing)}; add to overrides")

    body_type, body_schema, body_required = "none", None, False
    request = raw.get("requestBody")
    if request:
        ctype = next(iter(request["content"]))
        body_type = {"application/json": "json", "application/x-www-form-urlencoded": "form"}.get(ctype, "multipart")
        body_schema = overrides.BODY_SCHEMAS.get(where) or resolver.resolve(request["content"][ctype].get("schema") or {})
        body_required = bool(request.get("required"))
    security = raw.get("security") or []
    schemes = [name for s in security for name in s]
    scopes = sorted({sc for s in security for v in s.values() for sc in v}) or overrides.SCOPES.get(where, [])
    output = _success_schema(raw, resolver)
    entry = {
        "key": f"gohighlevel.{snake(file)}.{snake(overrides.OPERATION_IDS.get(where, raw['operationId']))}",
        "file": file,
        "operation_id": raw["operationId"],
        "method": method.upper(),
        "path": path,
        "area": doc.get("info", {}).get("title", file).removesuffix(" API").strip(),
        "tag": (raw.get("tags") or [""])[0],
        "summary": (raw.get("summary") or "").strip(),
        "description": (raw.get("description") or "").strip(),
        "deprecated": bool(raw.get("deprecated")),
        "version": version,
        "scopes": scopes,
        "token": "agency" if schemes and all(SECURITY.get(s) == "agency" for s in schemes) else "location",
        "oauth_only": bool(schemes) and all(s.endswith("-Only") for s in schemes),
        "params": params,
        "body_type": body_type,
        "body_required": body_required,
        "body_schema": body_schema,
        "output_schema": output,
        "pagination": _pagination(where, params, body_schema, output),
    }
    if where in overrides.DELETE_BODY_DEFAULTS:
        entry["body_default"] = overrides.DELETE_BODY_DEFAULTS[where]
    return entry


def build(spec_dir: Path = SPEC_DIR) -> list[dict]:
    docs, common = load_specs(spec_dir)
    entries = []
    for file, doc in docs.items():
        for path, item in doc.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    entries.append(operation_entry(file, method, path, item[method], doc, common))
    _check_overrides(entries)
    keys = [e["key"] for e in entries]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise ValueError(f"duplicate operation keys: {sorted(dupes)}")
    return sorted(entries, key=lambda e: e["key"])


def _check_overrides(entries: list[dict]) -> None:
    known = {(e["file"], e["method"], e["path"]) for e in entries}
    tables = (overrides.UNDECLARED_PATH_PARAMS, overrides.OPERATION_IDS, overrides.BODY_SCHEMAS,
              overrides.DELETE_BODY_DEFAULTS, overrides.VERSIONS, overrides.SCOPES, overrides.PAGINATION,
              dict.fromkeys(overrides.NO_PAGINATION))
    stale = [where for table in tables for where in table if where not in known]
    if stale:
        raise ValueError(f"overrides no longer match the spec: {stale}")


def render(entries: list[dict]) -> str:
    return json.dumps(entries, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write(path: Path = CATALOGUE) -> int:
    entries = build()
    path.write_text(render(entries))
    return len(entries)


def is_stale(path: Path = CATALOGUE) -> bool:
    return not path.exists() or path.read_text() != render(build())
