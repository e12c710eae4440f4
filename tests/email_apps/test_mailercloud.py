"""Mailercloud: every operation against its sandbox through the real executor."""
import pytest

from connectors import errors
from connectors.sandbox import store

from .conftest import call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mc(sandbox):
    conn, account = sandbox.connect("mailercloud")
    return conn, account, store.docs(account, "mc_list")[0]["id"]


def test_raw_key_auth_and_lists(mc):
    conn, account, list_id = mc
    r = call("mailercloud.list_lists", conn)
    assert r.output["data"][0]["id"] == list_id
    new = call("mailercloud.create_list", conn, name="Webinar").output["id"]
    names = [x["name"] for x in call("mailercloud.list_lists", conn, _limit=100).output["data"]]
    assert names == ["Newsletter", "Webinar"] and new
    conn.set_secrets({"api_key": "Bearer " + conn.secrets()["api_key"]})  # "Bearer" is wrong for Mailercloud
    conn.save()
    with pytest.raises(errors.StepError) as e:
        call("mailercloud.list_lists", conn)
    assert e.value.category == errors.AUTH


def test_contacts_create_upsert_batch_search_update_delete(mc):
    conn, account, list_id = mc
    prop = store.docs(account, "mc_prop")[0]["id"]
    c = call("mailercloud.create_contact", conn, email="jane@example.com", list_id=list_id, name="Jane",
             custom_fields={prop: "x"}).output["id"]
    u = call("mailercloud.upsert_contact", conn, email="jane@example.com", list_id=list_id, city="Riga").output
    assert u == {"contact_id": c, "status": "updated"}
    b = call("mailercloud.batch_contacts", conn, list_id=list_id,
             contacts=[{"email": "a@x.com"}, {"email": "jane@example.com"}, {"email": "broken"}]).output
    assert b["data"] == {"inserted": 1, "updated": 1, "skipped": 1, "submitted": 3}
    found = call("mailercloud.search_contacts", conn, list_id=list_id, search="jane").output["data"]
    assert [x["email"] for x in found] == ["jane@example.com"] and found[0]["city"] == "Riga"
    call("mailercloud.update_contact", conn, contact="jane@example.com", phone="+15550001")
    assert store.get(account, "mc_contact", c).data["phone"] == "+15550001"
    call("mailercloud.delete_contact", conn, contact_id=c)
    assert store.get(account, "mc_contact", c) is None
    with pytest.raises(errors.StepError) as e:
        call("mailercloud.create_contact", conn, email="x@y.com", list_id="nope")
    assert e.value.category == errors.VALIDATION and e.value.message == "list_id is invalid"


def test_unconfirmed_path_is_configurable_per_connection(mc, sandbox):
    conn, account, list_id = mc
    c = call("mailercloud.upsert_contact", conn, email="k@x.com", list_id=list_id).output["contact_id"]
    conn.config = {**conn.config, "paths": {"mailercloud.update_contact": "/contacts/{contact}"}}
    conn.save()
    r = call("mailercloud.update_contact", conn, contact=c, name="Kim")
    assert r.request["url"].endswith(f"/contacts/{c}") and store.get(account, "mc_contact", c).data["name"] == "Kim"


def test_properties_tags_and_body_paging(mc):
    import dataclasses

    from automations.engine import dispatch
    from connectors import registry
    from connectors.context import StepContext

    conn, account, list_id = mc
    assert call("mailercloud.create_property", conn, name="score").output["id"]
    assert "score" in [p["field_name"] for p in call("mailercloud.list_properties", conn).output["data"]]
    assert call("mailercloud.list_tags", conn).output["data"][0]["tag_name"] == "customer"
    for i in range(5):
        call("mailercloud.upsert_contact", conn, email=f"p{i}@x.com", list_id=list_id)
    op = registry.get_operation("mailercloud.new_contact")
    small = dataclasses.replace(op, pagination=dataclasses.replace(op.pagination, page_size=2))
    r = dispatch(small, StepContext(inputs={"list_id": list_id, "_limit": 100}, credentials=conn))
    assert len(r.output["data"]) == 5 and r.response["pages"] == 3
    assert r.request["body"] is None or "page" not in (r.request["body"] or {})
    assert call("mailercloud.custom_api_call", conn, method="GET", path="/client/plan").output["data"]["plan_name"] == "Sandbox"
