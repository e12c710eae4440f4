"""Option loaders for the builder's dropdowns: `loader(credentials, **params) -> [{value, label}]`.

Each reads one list endpoint through the executor (auth, rate limit, errors) and maps its items.
"""
from __future__ import annotations

from ..context import StepContext


def _items(key: str, credentials, inputs: dict | None = None, path: str = "") -> list:
    from ..executor import dig, execute
    from . import spec_operations

    op = spec_operations()[key]
    result = execute(op, StepContext(inputs=inputs or {}, credentials=credentials))
    return dig(result.output, path or (op.pagination.items_path if op.pagination else "")) or []


def _options(items, value="id", label="name") -> list[dict]:
    return [{"value": i.get(value), "label": str(i.get(label) or i.get(value))} for i in items if i.get(value)]


def pipelines(credentials, **params):
    return _options(_items("gohighlevel.opportunities.get_pipelines", credentials, path="pipelines"))


def pipeline_stages(credentials, pipelineId: str = "", **params):
    out = []
    for p in _items("gohighlevel.opportunities.get_pipelines", credentials, path="pipelines"):
        if not pipelineId or p.get("id") == pipelineId:
            out += [{"value": s.get("id"), "label": f"{p.get('name')} → {s.get('name')}" if not pipelineId else s.get("name")}
                    for s in p.get("stages") or []]
    return out


def users(credentials, **params):
    items = _items("gohighlevel.users.search_users", credentials, {"_limit": 500}, path="users")
    return [{"value": u.get("id"), "label": u.get("name") or " ".join(filter(None, [u.get("firstName"), u.get("lastName")]))
             or u.get("email") or u.get("id")} for u in items if u.get("id")]


def calendars(credentials, **params):
    return _options(_items("gohighlevel.calendars.get_calendars", credentials, path="calendars"))


def custom_fields(credentials, model: str = "", **params):
    fields = _items("gohighlevel.locations.get_custom_fields", credentials, {"model": model} if model else {},
                    path="customFields")
    return _options(fields)


def tags(credentials, **params):
    return _options(_items("gohighlevel.locations.get_location_tags", credentials, path="tags"), value="name")


def campaigns(credentials, **params):
    return _options(_items("gohighlevel.campaigns.get_campaigns", credentials, path="campaigns"))


def workflows(credentials, **params):
    return _options(_items("gohighlevel.workflows.get_workflow", credentials, path="workflows"))


def custom_values(credentials, **params):
    return _options(_items("gohighlevel.locations.get_custom_values", credentials, path="customValues"))


LOADERS = {f"gohighlevel.{f.__name__}": f for f in (pipelines, pipeline_stages, users, calendars, custom_fields, tags,
                                                     campaigns, workflows, custom_values)}
