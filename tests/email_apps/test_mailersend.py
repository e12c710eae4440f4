"""MailerSend: every operation against its sandbox through the real executor."""
import pytest

from connectors import errors
from connectors.sandbox import store

from .conftest import call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ms(sandbox):
    conn, account = sandbox.connect("mailersend")
    domain = store.docs(account, "ms_domain")[0]
    return conn, account, domain


def test_send_email_returns_the_message_id_and_records_activity(ms):
    conn, account, domain = ms
    r = call("mailersend.send_email", conn, to_email="jane@example.com", to_name="Jane", from_email="hi@brightside.test",
             subject="Hello {{name}}", html="<p>Hi</p>", variables={"name": "Jane"}, tags=["welcome"])
    assert r.output["status"] == 202 and len(r.output["message_id"]) == 24
    assert r.request["body"]["to"] == [{"email": "jane@example.com", "name": "Jane"}]
    assert r.request["body"]["personalization"] == [{"email": "jane@example.com", "data": {"name": "Jane"}}]
    assert "to_email" not in r.request["body"] and "Authorization" not in r.request["headers"]
    msg = store.get(account, "ms_message", r.output["message_id"]).data
    assert msg["subject"] == "Hello Jane"
    assert {d["type"] for d in store.docs(account, "ms_activity")} == {"sent", "delivered"}


def test_send_email_validation_error_is_one_sentence_and_not_retried(ms):
    conn, _, _ = ms
    with pytest.raises(errors.StepError) as e:
        call("mailersend.send_email", conn, to_email="jane@example.com", from_email="hi@unverified.test",
             subject="x", text="y")
    assert e.value.category == errors.VALIDATION and not e.value.retryable
    assert "from.email" in e.value.message and "#MS42207" in e.value.message


def test_bad_token_is_an_auth_error(ms, sandbox):
    conn, _, _ = ms
    conn.set_secrets({"api_key": "nope"})
    conn.save()
    with pytest.raises(errors.StepError) as e:
        call("mailersend.list_domains", conn)
    assert e.value.category == errors.AUTH and "Unauthenticated" in e.value.message


def test_bulk_send_and_status(ms):
    conn, account, _ = ms
    emails = [{"from": {"email": "hi@brightside.test"}, "to": [{"email": f"p{i}@example.com"}], "subject": "S",
               "text": "T"} for i in range(3)]
    r = call("mailersend.bulk_send", conn, emails=emails)
    bulk_id = r.output["bulk_email_id"]
    s = call("mailersend.bulk_status", conn, bulk_email_id=bulk_id)
    assert s.output["data"]["state"] == "completed" and len(s.output["data"]["messages_id"]) == 3


def test_suppressions_add_list_remove(ms):
    conn, account, domain = ms
    r = call("mailersend.add_suppression", conn, list_type="blocklist", domain_id=domain["id"],
             recipients="a@x.com, b@x.com")
    assert [d["recipient"]["email"] for d in r.output["data"]] == ["a@x.com", "b@x.com"]
    listed = call("mailersend.list_suppressions", conn, list_type="blocklist", domain_id=domain["id"])
    assert len(listed.output["data"]) == 2 and listed.output["links"]["next"] is None
    ids = [d["id"] for d in listed.output["data"]]
    call("mailersend.remove_suppression", conn, list_type="blocklist", ids=ids[:1])
    assert len(call("mailersend.list_suppressions", conn, list_type="blocklist").output["data"]) == 1
    with pytest.raises(errors.StepError) as e:
        call("mailersend.add_suppression", conn, list_type="unsubscribes", domain_id="bad", recipients=["c@x.com"])
    assert "domain id is invalid" in e.value.message


def test_suppressed_recipient_gets_a_warning(ms):
    conn, _, domain = ms
    call("mailersend.add_suppression", conn, list_type="blocklist", domain_id=domain["id"], recipients=["x@y.com"])
    r = call("mailersend.send_email", conn, to_email="x@y.com", from_email="hi@brightside.test", subject="s", text="t")
    assert r.output["warnings"][0]["type"] == "SOME_SUPPRESSED"


def test_recipients_paging_get_and_delete(ms):
    conn, account, _ = ms
    store.bulk_put(account, "ms_recipient", [{"id": f"{i:024x}", "email": f"r{i}@x.com",
                                              "created_at": "2025-01-01T00:00:00.000000Z"} for i in range(130)])
    one = call("mailersend.list_recipients", conn)
    assert len(one.output["data"]) == 25 and one.output["links"]["next"] and one.output["meta"]["per_page"] == 25
    every = call("mailersend.list_recipients", conn, _limit=1000)
    assert len(every.output["data"]) == 130 and every.response["pages"] == 2  # page=1,2 with limit=100
    rid = one.output["data"][0]["id"]
    assert call("mailersend.get_recipient", conn, recipient_id=rid).output["data"]["email"] == "r0@x.com"
    call("mailersend.delete_recipient", conn, recipient_id=rid)
    with pytest.raises(errors.StepError) as e:
        call("mailersend.get_recipient", conn, recipient_id=rid)
    assert e.value.category == errors.NOT_FOUND


def test_lookups_and_custom_call(ms):
    conn, _, domain = ms
    assert call("mailersend.list_domains", conn).output["data"][0]["id"] == domain["id"]
    assert call("mailersend.list_templates", conn).output["data"][0]["id"] == "welcome-tpl"
    r = call("mailersend.custom_api_call", conn, method="GET", path="/api-quota")
    assert r.output["quota"] == 100000


def test_activity_trigger_window_and_events(ms):
    conn, _, domain = ms
    call("mailersend.send_email", conn, to_email="a@b.com", from_email="hi@brightside.test", subject="s", text="t")
    r = call("mailersend.new_activity", conn, domain_id=domain["id"], event=["delivered"], _limit=100)
    assert [a["type"] for a in r.output["data"]] == ["delivered"]
    assert r.output["data"][0]["email"]["recipient"]["email"] == "a@b.com"
    assert r.request["query"]["date_to"] - r.request["query"]["date_from"] == 86400


def test_rate_limit_headers_and_429(ms, settings):
    conn, _, _ = ms
    settings.SANDBOX_EMAIL_RATE = {"mailersend": (2, 60)}
    call("mailersend.list_domains", conn)
    r = call("mailersend.list_domains", conn)
    assert r.response["headers"]["x-ratelimit-remaining"] == "0"
    with pytest.raises(errors.StepError) as e:
        call("mailersend.list_domains", conn)
    assert e.value.category == errors.RATE_LIMITED and e.value.retryable and e.value.retry_after


def test_option_loaders_fill_dropdowns(sandbox):
    from connectors.email_apps.options import LOADERS

    for app, key in (("mailersend", "mailersend.domains"), ("mailerlite", "mailerlite.groups"),
                     ("sendpulse", "sendpulse.address_books"), ("mailercloud", "mailercloud.lists")):
        conn, _ = sandbox.connect(app)
        options = LOADERS[key](conn)
        assert options and all(o["value"] and o["label"] for o in options), key
