"""Inbound webhook verification (reliability.md A4) and webhooks created from Flowline end to end."""
import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import pytest

from connectors.email_apps import webhooks
from connectors.email_apps.webhooks import Rejected, hex_hmac

SECRET, TEST = "whsec-own", "public-test-secret"
NOW = datetime(2025, 8, 5, 21, 24, tzinfo=timezone.utc)


def ms_body(**over):
    event = {"type": "activity.sent", "created_at": "2025-08-05T21:23:54.000000Z",
             "data": {"id": "6892aa", "domain_id": "yv69", "message_id": "6892bb", "email_id": "6892cc", "type": "sent",
                      "subject": "Test email", "email": "test@mailersend.com", "tags": ["test"], "meta": []}}
    event.update(over)
    return json.dumps(event, separators=(",", ":")).encode()


def verify(raw, sig, secrets=None, **config):
    return webhooks.mailersend_inbound(raw, {"Signature": sig}, secrets or {"webhook_secrets": {"1": SECRET}},
                                       {"mailersend_test_secret": TEST, **config}, NOW)


def test_valid_signature_gives_one_event_keyed_by_data_id():
    raw = ms_body()
    [event] = verify(raw, hex_hmac(SECRET, raw))
    assert event.delivery_id == "mailersend:6892aa"
    assert event.payload["recipient"] == "test@mailersend.com" and event.payload["event"] == "sent"


@pytest.mark.parametrize("case", ["tampered", "wrong_secret", "missing", "reserialized", "uppercase_garbage"])
def test_invalid_signatures_are_rejected(case):
    raw = ms_body()
    sig = {"tampered": hex_hmac(SECRET, raw), "wrong_secret": hex_hmac("other", raw), "missing": "",
           "reserialized": hex_hmac(SECRET, json.dumps(json.loads(raw), indent=1).encode()),
           "uppercase_garbage": "ZZ" * 32}[case]
    body = raw.replace(b"Test email", b"Test emaiL") if case == "tampered" else raw
    with pytest.raises(Rejected) as e:
        verify(body, sig)
    assert e.value.status == 401


def test_public_test_secret_only_for_webhook_test():
    ping = json.dumps({"type": "webhook.test", "message": "hi", "created_at": "2025-08-05T21:23:54Z"}).encode()
    assert verify(ping, hex_hmac(TEST, ping)) == []  # acknowledged, no run
    raw = ms_body()
    with pytest.raises(Rejected, match="webhook.test only"):
        verify(raw, hex_hmac(TEST, raw))


def test_stale_event_is_rejected_and_window_is_configurable():
    raw = ms_body(created_at=(NOW - timedelta(hours=2)).isoformat())
    with pytest.raises(Rejected, match="stale"):
        verify(raw, hex_hmac(SECRET, raw))
    assert verify(raw, hex_hmac(SECRET, raw), stale_after=3 * 3600)


def test_legacy_nested_payload_is_normalised():
    raw = ms_body(data={"id": "x1", "email": {"recipient": {"email": "a@b.c"}, "message": {"id": "m1"}, "subject": "S"}})
    [event] = verify(raw, hex_hmac(SECRET, raw))
    assert (event.payload["recipient"], event.payload["message_id"], event.payload["subject"]) == ("a@b.c", "m1", "S")


def test_mailerlite_batch_split_and_optional_signature():
    raw = json.dumps({"events": [{"type": "subscriber.create", "webhook_id": 2, "timestamp": 1495551003,
                                  "data": {"subscriber": {"id": 7, "email": "a@b.c", "fields": [{"key": "city", "value": "Riga"}]}}},
                                 {"type": "subscriber.create", "webhook_id": 2, "timestamp": 1495551003,
                                  "data": {"subscriber": {"id": 8, "email": "d@e.f"}}}]}).encode()
    events = webhooks.mailerlite_inbound(raw, {}, {"api_key": "k"}, {})
    assert [e.delivery_id for e in events] == ["mailerlite:2:1495551003:7:subscriber.create",
                                               "mailerlite:2:1495551003:8:subscriber.create"]
    assert events[0].payload["subscriber"]["field_values"]["city"] == "Riga"
    good = base64.b64encode(hmac.new(b"k", raw, hashlib.sha256).digest()).decode()
    assert len(webhooks.mailerlite_inbound(raw, {"X-MailerLite-Signature": good}, {"api_key": "k"}, {"verify_signature": True})) == 2
    with pytest.raises(Rejected):
        webhooks.mailerlite_inbound(raw, {"X-MailerLite-Signature": "bad"}, {"api_key": "k"}, {"verify_signature": True})


def test_sendpulse_array_split_and_stable_keys():
    raw = json.dumps([{"task_id": "3668141", "timestamp": "1496827872", "email": "john@x.com", "event": "unsubscribe",
                       "book_id": "490686"}, {"event": "open", "email": "j@x.com", "timestamp": "1", "task_id": "9"}]).encode()
    a, b = webhooks.sendpulse_inbound(raw, {}, {}, {})
    assert a.delivery_id == webhooks.sendpulse_inbound(raw, {}, {}, {})[0].delivery_id != b.delivery_id


# --- end to end: Flowline creates the webhook, the sandbox signs real events -----------------------------

@pytest.mark.django_db(transaction=True)
def test_mailersend_webhook_created_from_flowline_delivers_signed_events(sandbox, ws):
    from automations.flows import publish
    from automations.models import Flow, Run
    from connectors.sandbox import store

    from .conftest import call

    conn, account = sandbox.connect("mailersend", mailersend_test_secret="sandbox-mailersend-webhook-test-secret")
    domain = store.docs(account, "ms_domain")[0]["id"]
    flow = Flow.objects.create(workspace=ws, name="MS events", enabled=True, draft={
        "trigger": {"operation": "mailersend.webhook_event", "connection": conn.pk,
                    "inputs": {"events": ["activity.delivered"], "domain_id": domain}}, "steps": []})
    publish(flow)
    url = f"{sandbox.server.url}/hooks/{flow.webhook_token}"
    created = call("mailersend.create_webhook", conn, url=url, name="Flowline", events=["activity.delivered"],
                   domain_id=domain)  # the sandbox pinged it with webhook.test first (must answer 2xx)
    assert created.output["data"]["secret"] == "stored on the connection"
    conn.refresh_from_db()
    assert list(conn.secrets()["webhook_secrets"]) == [created.output["data"]["id"]]
    call("mailersend.send_email", conn, to_email="jane@example.com", from_email="hi@brightside.test", subject="s", text="t")
    runs = list(Run.objects.filter(flow=flow))
    assert len(runs) == 1 and runs[0].trigger_payload["recipient"] == "jane@example.com"
    # replay of the same delivery: 200, no second run
    import httpx
    from connectors.sandbox.models import SandboxEvent
    ev = SandboxEvent.objects.filter(location=account, event_type="activity.delivered").first()
    raw = json.dumps(ev.payload, separators=(",", ":")).encode()
    secret = conn.secrets()["webhook_secrets"][created.output["data"]["id"]]
    r = httpx.post(url, content=raw, headers={"Signature": hex_hmac(secret, raw), "Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["events"][0]["status"] == "duplicate"
    assert Run.objects.filter(flow=flow).count() == 1
    bad = httpx.post(url, content=raw, headers={"Signature": hex_hmac("wrong", raw)})
    assert bad.status_code == 401 and Run.objects.filter(flow=flow).count() == 1
