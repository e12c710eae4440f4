"""SendPulse: client-credentials auth (token cached, refreshed once on 401), every operation."""
import base64
import time

import pytest

from connectors import errors
from connectors.sandbox import store
from connectors.sandbox.models import SandboxRecord, SandboxRequest

from .conftest import call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sp(sandbox):
    return sandbox.connect("sendpulse")


def token_requests():
    return SandboxRequest.objects.filter(path__endswith="/oauth/access_token").count()


def test_token_is_fetched_once_and_cached(sp):
    conn, account = sp
    call("sendpulse.list_address_books", conn)
    call("sendpulse.list_address_books", conn)
    assert token_requests() == 1
    conn.refresh_from_db()
    s = conn.secrets()
    assert s["access_token"] and s["expires_at"] > time.time() + 3000


def test_expired_or_revoked_token_is_refreshed_once_on_401(sp):
    conn, account = sp
    call("sendpulse.list_address_books", conn)
    SandboxRecord.objects.filter(kind="sp_token").update(data={"expires_at": 0})  # revoked server-side
    books = call("sendpulse.list_address_books", conn).output
    assert books[0]["name"] == "Newsletter" and token_requests() == 2
    conn.refresh_from_db()
    assert SandboxRecord.objects.filter(kind="sp_token", record_id=conn.secrets()["access_token"]).exists()


def test_bad_client_secret_needs_reauth(sp):
    conn, _ = sp
    conn.set_secrets({**conn.secrets(), "client_secret": "wrong"})
    conn.save()
    with pytest.raises(errors.StepError) as e:
        call("sendpulse.list_address_books", conn)
    assert e.value.category == errors.AUTH and "invalid_client" in e.value.message
    conn.refresh_from_db()
    assert conn.status == "needs_reauth"


def test_address_books_subscribers_variables(sp):
    conn, account = sp
    book = call("sendpulse.create_address_book", conn, bookName="Leads").output["id"]
    r = call("sendpulse.add_subscriber", conn, book_id=book, email="jane@example.com",
             variables={"name": "Jane", "phone": "+15550001"})
    assert r.output == {"result": True}
    assert r.request["body"] == {"emails": [{"email": "jane@example.com", "variables": {"name": "Jane", "phone": "+15550001"}}]}
    call("sendpulse.update_variables", conn, book_id=book, email="jane@example.com", variables={"city": "Kyiv"})
    got = call("sendpulse.get_subscriber", conn, book_id=book, email="jane@example.com").output
    assert got["variables"] == {"name": "Jane", "phone": "+15550001", "city": "Kyiv"}
    books = {b["name"]: b for b in call("sendpulse.list_address_books", conn, _limit=100).output}
    assert books["Leads"]["all_email_qty"] == 1
    call("sendpulse.delete_subscribers", conn, book_id=book, emails="jane@example.com")
    with pytest.raises(errors.StepError) as e:
        call("sendpulse.get_subscriber", conn, book_id=book, email="jane@example.com")
    assert e.value.category == errors.NOT_FOUND and "error_code 1004" in e.value.message


def test_blacklist_is_base64_and_blocks_sending(sp):
    conn, account = sp
    r = call("sendpulse.add_to_blacklist", conn, emails=["bad@x.com", "worse@x.com"], comment="GHL DND")
    assert base64.b64decode(r.request["body"]["emails"]).decode() == "bad@x.com,worse@x.com"
    assert {d["email"] for d in store.docs(account, "sp_blacklist")} == {"bad@x.com", "worse@x.com"}
    with pytest.raises(errors.StepError) as e:
        call("sendpulse.send_email", conn, to_email="bad@x.com", from_email="hello@brightside.test", subject="s", html="<b>x</b>")
    assert "blacklist" in e.value.message
    call("sendpulse.remove_from_blacklist", conn, emails="bad@x.com")
    assert [d["email"] for d in store.docs(account, "sp_blacklist")] == ["worse@x.com"]


def test_transactional_email_base64_html(sp):
    conn, account = sp
    r = call("sendpulse.send_email", conn, to_email="jane@example.com", to_name="Jane", from_email="hello@brightside.test",
             from_name="Brightside", subject="Welcome", html="<p>Hi Jane</p>")
    assert r.output["result"] is True and r.output["id"]
    sent = store.get(account, "sp_smtp", r.output["id"]).data
    assert base64.b64decode(sent["html"]).decode() == "<p>Hi Jane</p>" and sent["to"] == [{"email": "jane@example.com", "name": "Jane"}]


def test_new_subscriber_trigger_pages_by_offset(sp):
    import dataclasses

    from automations.engine import dispatch
    from connectors import registry
    from connectors.context import StepContext

    conn, account = sp
    book = call("sendpulse.list_address_books", conn).output[0]["id"]
    call("sendpulse.add_subscriber", conn, book_id=book, emails=[{"email": f"s{i}@x.com"} for i in range(7)])
    op = registry.get_operation("sendpulse.new_subscriber")
    small = dataclasses.replace(op, pagination=dataclasses.replace(op.pagination, page_size=3))
    r = dispatch(small, StepContext(inputs={"book_id": book, "_limit": 100}, credentials=conn))
    assert [s["email"] for s in r.output] == [f"s{i}@x.com" for i in range(7)] and r.response["pages"] == 3
    assert op.poll.id_field == "email"


def test_webhooks_and_custom_call(sp):
    conn, _ = sp
    w = call("sendpulse.create_webhook", conn, url="https://h.example.com/t0k3n", actions=["new_emails", "unsubscribe"])
    assert [row["action"] for row in w.output["data"]] == ["new_emails", "unsubscribe"]
    assert len(call("sendpulse.list_webhooks", conn).output["data"]) == 2
    call("sendpulse.delete_webhook", conn, webhook_id=w.output["data"][0]["id"])
    assert len(call("sendpulse.list_webhooks", conn).output["data"]) == 1
    assert call("sendpulse.custom_api_call", conn, method="GET", path="/senders").output[0]["email"] == "hello@brightside.test"


def test_rate_limit_10_per_second(sp, settings):
    conn, _ = sp
    settings.SANDBOX_EMAIL_RATE = {"sendpulse": (1, 60)}
    call("sendpulse.list_address_books", conn)
    with pytest.raises(errors.StepError) as e:
        call("sendpulse.list_address_books", conn)
    assert e.value.category == errors.RATE_LIMITED
