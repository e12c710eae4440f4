"""The committed catalogue matches the specs, and the curated layer binds to exact endpoints."""
import json
from collections import Counter

import pytest
from django.core.management import call_command

from connectors import registry
from connectors.gohighlevel import OPERATIONS, catalogue, curated, generate, spec_operations
from connectors.spec import TRIGGER


def test_committed_catalogue_is_not_stale():
    assert not generate.is_stale(), "run: manage.py generate_catalogue"


def test_every_spec_operation_is_in_the_catalogue_with_its_own_version():
    docs, _ = generate.load_specs()
    spec = {(f, m.upper(), p): op for f, d in docs.items() for p, item in d["paths"].items()
            for m, op in item.items() if m in generate.METHODS}
    assert len(spec) == len(catalogue()) == 576
    for e in catalogue():
        raw = spec[(e["file"], e["method"], e["path"])]
        declared = [p["schema"]["enum"][0] for p in raw["parameters"] if p["in"] == "header" and p["name"] == "Version"]
        assert e["version"] == (declared[0] if declared else generate.overrides.VERSIONS.get((e["file"], e["method"], e["path"])))
    assert Counter(e["version"] for e in catalogue())["2021-04-15"] == 141  # 139 declared + 2 inferred


def test_spec_defects_are_fixed_by_overrides():
    ops = {(o.method, o.path): o for o in spec_operations().values()}
    assert ops[("PUT", "/users/{userId}")].param("userId").required
    assert ops[("POST", "/contacts/bulk/tags/update/{type}")].key == "gohighlevel.contacts.update_contacts_tags"
    assert ops[("POST", "/associations/")].key == "gohighlevel.associations.create_association"
    search = ops[("POST", "/contacts/search")]
    assert search.param("filters") and search.param("locationId").source == "location_id"
    assert ops[("DELETE", "/calendars/events/{eventId}")].extra["body_default"] == {}
    assert ops[("DELETE", "/contacts/{contactId}/tags")].param("tags").required
    assert ops[("GET", "/contacts/")].path == "/contacts/"  # trailing slash kept


def test_curated_layer_counts_and_categories():
    ops = [o for o in registry.operations("gohighlevel") if o.curated]
    assert len(ops) == 126
    assert len({o.category for o in ops}) == 14
    assert Counter(o.kind for o in ops)[TRIGGER] == 56
    names = {o.label for o in ops}
    assert {"New Form Submission", "Send Message", "Find Contact", "Update Message Status"} <= names


@pytest.mark.parametrize("row", [r for _, rows in curated.TABLE for r in rows], ids=lambda r: r[1])
def test_curated_binding(row):
    kind, name, description, method, path, extra = row
    op = registry.get_operation(curated.key_for(name))
    assert (op.label, op.description, op.method, op.path) == (name, description, method, path)
    assert op.extra["spec"].endswith(f" {method} {path}")
    if op.kind == TRIGGER:
        assert op.poll and op.pagination is not None and op.poll.id_field
        assert "search" in op.extra["kinds"]
    if not op.handler:
        assert not any(p.name in ("locationId", "companyId") for p in op.user_params if op.extra["token"] == "location")


def test_long_tail_and_custom_call():
    tail = [o for o in OPERATIONS if not o.curated]  # (other modules add instant triggers to the app)
    assert len(tail) == 452  # 451 endpoints no curated row covers + the custom API call
    assert registry.get_operation("gohighlevel.custom_api_call").handler
    assert all(o.area for o in tail if o.key != "gohighlevel.custom_api_call")


def test_catalogue_command_json(capsys):
    call_command("catalogue", app="gohighlevel", json=True)
    mine = {o.key for o in OPERATIONS}
    rows = [r for r in json.loads(capsys.readouterr().out) if r["key"] in mine]
    assert len(rows) == 578 and sum(r["curated"] for r in rows) == 126
    contact = next(r for r in rows if r["key"] == "gohighlevel.create_contact")
    assert contact["method"] == "POST" and contact["path"] == "/contacts/" and "contacts.write" in contact["scopes"]
