"""MailerLite Classic: every operation against its sandbox through the real executor."""
import pytest

from connectors import errors

from .conftest import call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ml(sandbox):
    return sandbox.connect("mailerlite")[0]


def test_subscribers_upsert_get_update_search_unsubscribe(ml):
    a = call("mailerlite.upsert_subscriber", ml, email="Jane@Example.com", name="Jane", fields={"city": "Riga"})
    assert isinstance(a.output["id"], int) and a.output["type"] == "active"
    assert {"key": "city", "value": "Riga", "type": "TEXT"} in a.output["fields"]
    b = call("mailerlite.upsert_subscriber", ml, email="jane@example.com", name="Jane D.")
    assert b.output["id"] == a.output["id"] and b.output["name"] == "Jane D."  # create-or-update
    assert call("mailerlite.get_subscriber", ml, subscriber="jane@example.com").output["id"] == a.output["id"]
    call("mailerlite.update_subscriber", ml, subscriber=str(a.output["id"]), fields={"company": "Acme"})
    found = call("mailerlite.search_subscribers", ml, query="acme")
    assert [s["email"] for s in found.output] == ["jane@example.com"]
    u = call("mailerlite.unsubscribe", ml, subscriber="jane@example.com")
    assert u.output["type"] == "unsubscribed" and u.request["body"] == {"type": "unsubscribed"}
    assert u.request["headers"].get("X-MailerLite-ApiKey") is None  # recorded before auth; never stored


def test_groups_fields_and_membership(ml):
    g = call("mailerlite.create_group", ml, name="VIP").output
    call("mailerlite.add_to_group", ml, group_id=g["id"], email="kim@example.com", name="Kim")
    groups = {x["name"]: x for x in call("mailerlite.list_groups", ml, _limit=100).output}
    assert groups["VIP"]["total"] == 1 and "Newsletter" in groups
    members = call("mailerlite.list_group_subscribers", ml, group_id=g["id"], _limit=100).output
    assert [m["email"] for m in members] == ["kim@example.com"]
    r = call("mailerlite.remove_from_group", ml, group_id=g["id"], subscriber="kim@example.com")
    assert r.response["status"] == 204
    f = call("mailerlite.create_field", ml, title="Lead score", type="NUMBER").output
    assert f["key"] == "lead_score" and any(x["key"] == "lead_score" for x in call("mailerlite.list_fields", ml).output)


def test_errors_and_auth(ml):
    with pytest.raises(errors.StepError) as e:
        call("mailerlite.get_subscriber", ml, subscriber="nobody@example.com")
    assert e.value.category == errors.NOT_FOUND and e.value.message == "Subscriber not found (code 123)"
    ml.set_secrets({"api_key": "wrong"})
    ml.save()
    with pytest.raises(errors.StepError) as e:
        call("mailerlite.list_groups", ml)
    assert e.value.category == errors.AUTH and "code 302" in e.value.message


def test_limit_offset_paging_and_polling_triggers(ml, sandbox):
    for i in range(25):
        call("mailerlite.upsert_subscriber", ml, email=f"p{i}@example.com")
    import dataclasses

    from automations.engine import dispatch
    from connectors import registry
    from connectors.context import StepContext

    op = registry.get_operation("mailerlite.new_subscriber")
    small = dataclasses.replace(op, pagination=dataclasses.replace(op.pagination, page_size=10))
    r = dispatch(small, StepContext(inputs={"_limit": 1000}, credentials=ml))
    assert len(r.output) == 25 and r.response["pages"] == 3
    assert {s["email"] for s in r.output} == {f"p{i}@example.com" for i in range(25)}
    assert op.poll.id_field == "id" and op.poll.time_field == "date_created"
    upd = registry.get_operation("mailerlite.updated_subscriber").poll
    assert upd.dedupe == "id_time" and upd.time_field == "date_updated"


def test_webhooks_managed_from_flowline(ml):
    w = call("mailerlite.create_webhook", ml, url="https://hooks.example.com/x", event="subscriber.create").output
    assert w["event"] == "subscriber.create"
    listed = call("mailerlite.list_webhooks", ml).output
    assert listed["count"] == 1 and listed["webhooks"][0]["id"] == w["id"]
    call("mailerlite.delete_webhook", ml, webhook_id=w["id"])
    assert call("mailerlite.list_webhooks", ml).output["count"] == 0
    assert call("mailerlite.custom_api_call", ml, method="GET", path="/subscribers/count").output == {"count": 0}
