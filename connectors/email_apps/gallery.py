"""The flow-template gallery of the email apps: `templates/*.json` in the `flowline.flow/1` export
format, each with a title, app, kind ("top" connection from the product sheet or creative "idea"),
a description saying what it does and how it was adapted to what the real API can do, and a sample
trigger payload.

    from connectors.email_apps.gallery import TEMPLATES, load, prepare
    doc = prepare(load("mailersend-welcome-new-lead"), {"domain_id": "...", "list_id": "..."})
    flow, missing = automations.flows.import_flow(doc, workspace)

A template leaves account-specific choices empty (`""` for `domain_id`, `list_id`, `book_id`,
`group_id`; a `"<property_id>"` key): `prepare` fills them from the user's choices.
"""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

DIR = Path(__file__).parent / "templates"
CHOICES = ("domain_id", "list_id", "book_id", "group_id", "property_id")


@lru_cache(maxsize=1)
def _all() -> dict:
    return {p.stem: json.loads(p.read_text()) for p in sorted(DIR.glob("*.json"))}


def load(slug: str) -> dict:
    return copy.deepcopy(_all()[slug])


TEMPLATES = [{"slug": slug, "title": d["name"], "app": d["app"], "kind": d["kind"], "description": d["description"],
              "adaptation": d.get("adaptation", "")} for slug, d in _all().items()]


def needs(doc: dict) -> list[str]:
    """The choices a template still needs (empty account-specific inputs)."""
    found = set()

    def walk(value, key=None):
        if isinstance(value, dict):
            for k, v in value.items():
                if k.startswith("<") and k.endswith(">"):
                    found.add(k[1:-1])
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif value == "" and key in CHOICES:
            found.add(key)

    walk(doc["definition"])
    return sorted(found)


def prepare(doc: dict, choices: dict) -> dict:
    """A copy of `doc` with its empty choices filled (values and `<name>` keys)."""
    doc = copy.deepcopy(doc)

    def fill(value, key=None):
        if isinstance(value, dict):
            return {(str(choices.get(k[1:-1], k)) if k.startswith("<") and k.endswith(">") else k): fill(v, k)
                    for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v, key) for v in value]
        return choices.get(key, value) if value == "" and key in CHOICES else value

    doc["definition"] = fill(doc["definition"])
    return doc


def by_app(app: str) -> list[dict]:
    return [t for t in TEMPLATES if t["app"] == app]
