"""The pure builder helpers (automations/builder.py, builder_fields.py, builder_data.py, builder_diff.py)."""
import pytest

from automations import builder as B
from automations import builder_data, builder_diff, builder_fields

D = {"trigger": {"operation": "webhook.catch_hook"},
     "steps": [{"id": "s1", "key": "find", "name": "Find", "operation": "flow.formatter", "inputs": {}},
               {"id": "s2", "operation": "flow.paths", "branches": [
                   {"name": "A", "steps": [{"id": "s3", "operation": "flow.filter"}]},
                   {"name": "B", "steps": [{"id": "s4", "operation": "flow.loop", "steps": [{"id": "s5", "operation": "flow.delay"}]}]}]},
               {"id": "s6", "operation": "flow.delay"}]}


def ids(steps):
    return [s["id"] for s in steps]


def test_walk_find_and_earlier_steps():
    assert ids(B.all_steps(D)) == ["s1", "s2", "s3", "s4", "s5", "s6"]
    assert B.find(D, "s5")["operation"] == "flow.delay"
    assert ids(B.earlier_steps(D, "s5")) == ["s1", "s2", "s4"]  # not s3: another branch
    assert ids(B.earlier_steps(D, "s6")) == ["s1", "s2"]  # not inside branches: they may not have run
    assert B.loop_of(D, "s5")["id"] == "s4" and B.loop_of(D, "s3") is None
    with pytest.raises(B.EditError):
        B.find(D, "s99")


def test_add_move_delete_never_mutate():
    d, sid = B.add_step(D, "flow.filter", container="s2/b0", index=0)
    assert sid == "s7" and ids(d["steps"][1]["branches"][0]["steps"]) == ["s7", "s3"]
    assert ids(D["steps"][1]["branches"][0]["steps"]) == ["s3"]
    d, sid = B.add_step(d, "flow.loop", container="s4")
    assert B.find(d, sid)["steps"] == [] and ids(B.find(d, "s4")["steps"]) == ["s5", sid]
    assert ids(B.move_step(D, "s6", -1)["steps"]) == ["s1", "s6", "s2"]
    assert ids(B.move_step(D, "s1", to=2)["steps"]) == ["s2", "s6", "s1"]
    with pytest.raises(B.EditError):
        B.move_step(D, "s1", -1)
    assert ids(B.all_steps(B.delete_step(D, "s2"))) == ["s1", "s6"]


def test_keys_are_unique_slugs_and_renames_follow():
    d = B.set_operation({"steps": [{"id": "s1", "key": "send_email"}, {"id": "s2"}]}, "s2", "x.send", "Send email")
    assert B.find(d, "s2")["key"] == "send_email_2"
    d = {"steps": [{"id": "s1", "key": "find", "name": "Find"},
                   {"id": "s2", "inputs": {"a": "{{ steps.find.id }} {{ steps.finder.x }}"}}]}
    d = B.rename_step(d, "s1", "Find contact")
    assert B.find(d, "s2")["inputs"]["a"] == "{{ steps.find_contact.id }} {{ steps.finder.x }}"


def test_flatten_and_schema_paths():
    paths = dict(builder_data.flatten({"contact": {"email": "a@b.c", "first name": "A"}, "tags": ["x", "y"]}, "trigger"))
    assert paths["trigger.contact.email"] == "a@b.c" and paths['trigger.contact["first name"]'] == "A"
    assert paths["trigger.tags"] == "[2 items]" and paths["trigger.tags[0]"] == "x"
    schema = {"type": "object", "properties": {"contact": {"type": "object", "properties": {"id": {"type": "string"}}}}}
    assert dict(builder_data.schema_paths(schema, "steps.find")) == {"steps.find.contact": "{…}", "steps.find.contact.id": "(string)"}


def test_picker_sources_and_chips():
    sample = {"trigger": {"email": "a@b.c"}, "steps": {"s1": {"value": "A@B.C"}}}
    sources = builder_data.picker_sources(D, "s6", sample, lambda key: None)
    assert [s.title for s in sources] == ["Trigger", "1. Find", "2. flow.paths"]
    assert sources[1].items[0] == {"path": "steps.find.value", "example": "A@B.C", "token": "{{ steps.find.value }}", "label": "value"}
    chips = builder_data.chips("Hi {{ steps.find.value | lower }}!", D)
    assert chips == [{"text": "Hi "}, {"chip": "Find › value | lower", "token": "{{ steps.find.value | lower }}"}, {"text": "!"}]
    data = builder_data.mapping_data(D, sample, "s5")
    assert data["steps"]["find"] == {"value": "A@B.C"} and data["loop"]["index"] == 0


def test_parse_field_types():
    from connectors.spec import Param

    assert builder_fields.parse_field(Param("n", type="integer"), "42") == (42, None)
    assert builder_fields.parse_field(Param("n", type="integer"), "{{ trigger.n }}") == ("{{ trigger.n }}", None)
    assert builder_fields.parse_field(Param("n", type="number"), "abc")[1]
    assert builder_fields.parse_field(Param("b", type="boolean"), "true") == (True, None)
    assert builder_fields.parse_field(Param("o", type="object"), '{"a": "{{ x }}"}') == ({"a": "{{ x }}"}, None)
    assert "not valid JSON" in builder_fields.parse_field(Param("o", type="object"), '{"a": ')[1]
    assert builder_fields.parse_field(Param("s"), "  ") == (None, None)


def test_diff_describes_changes():
    new = B.move_step(B.update_step(D, "s1", inputs={"value": "x"}), "s6", -1)
    new = B.delete_step(new, "s3")
    changes = builder_diff.diff(D, new)
    kinds = {(c["kind"], c["what"]) for c in changes}
    assert ("changed", "Find") in kinds and ("removed", "flow.filter") in kinds and ("moved", "Step order") in kinds
    assert "value: (empty) → x" in next(c for c in changes if c["what"] == "Find")["details"]
    assert builder_diff.diff(D, D) == []
