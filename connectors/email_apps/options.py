"""Dropdown loaders of the email apps (`Param.options` keys), each one list operation through the
executor: `LOADERS[key](credentials, **params) -> [{"value", "label"}]`."""
from __future__ import annotations

from ..context import StepContext


def _loader(op_key: str, items_path: str, value: str, label: str):
    def load(credentials, **params):
        from ..executor import execute
        from ..registry import get_operation

        result = execute(get_operation(op_key), StepContext(inputs={**params, "_limit": 500}, credentials=credentials))
        out = result.output
        for part in [p for p in items_path.split(".") if p]:
            out = (out or {}).get(part)
        return [{"value": i.get(value), "label": str(i.get(label) or i.get(value))} for i in out or []]

    return load


LOADERS = {
    "mailersend.domains": _loader("mailersend.list_domains", "data", "id", "name"),
    "mailersend.templates": _loader("mailersend.list_templates", "data", "id", "name"),
    "mailerlite.groups": _loader("mailerlite.list_groups", "", "id", "name"),
    "sendpulse.address_books": _loader("sendpulse.list_address_books", "", "id", "name"),
    "mailercloud.lists": _loader("mailercloud.list_lists", "data", "id", "name"),
}
