"""Webhook events: emitted on changes and on demand, shaped like docs/webhook-events/*.md, signed with
the sandbox keys (Ed25519 X-GHL-Signature and RSA x-wh-signature)."""
import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from connectors.sandbox import events, keys, store
from connectors.sandbox.models import SandboxEvent, SandboxSubscription

DOCS = Path(__file__).resolve().parents[2] / "connectors" / "gohighlevel" / "webhook-events"  # copied from the official docs (CC0)
REQUIRED = ["ContactCreate", "ContactUpdate", "ContactTagUpdate", "ContactDelete", "TaskCreate", "TaskComplete",
            "NoteCreate", "OpportunityCreate", "OpportunityStageUpdate", "OpportunityStatusUpdate",
            "AppointmentCreate", "AppointmentUpdate", "InboundMessage"]


@pytest.fixture
def receiver():
    got = []

    class H(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}/hook", got
    srv.shutdown()


def _verify(headers: dict, raw: bytes):
    pub = keys.public_keys()
    ed = serialization.load_pem_public_key(pub["ed25519"].encode())
    ed.verify(base64.b64decode(headers["X-GHL-Signature"]), raw)
    rsa = serialization.load_pem_public_key(pub["rsa"].encode())
    rsa.verify(base64.b64decode(headers["x-wh-signature"]), raw, padding.PKCS1v15(), hashes.SHA256())


def _doc_schema(event_type: str):
    text = (DOCS / f"{event_type}.md").read_text()
    block = re.search(r"```json json_schema\n(.*?)```", text, re.S)
    return json.loads(block.group(1)) if block else None


@pytest.mark.parametrize("event_type", REQUIRED)
def test_simulated_events_are_signed_and_shaped_like_the_docs(sbx, receiver, event_type):
    url, got = receiver
    location = sbx[0]
    SandboxSubscription.objects.create(location=location, url=url)
    body = events.simulate(location, event_type)
    assert len(got) == 1
    headers, raw = got[0]
    _verify(headers, raw)
    sent = json.loads(raw)
    assert sent == body and sent["type"] == event_type and sent["locationId"] == location.id
    assert sent["webhookId"] and sent["timestamp"].endswith("Z")
    if DOCS.exists():
        schema = _doc_schema(event_type)
        jsonschema.validate(sent, schema)
        documented = set(schema["properties"])
        extra = set(sent) - documented - {"timestamp", "webhookId"}
        assert not extra, f"fields not in the docs: {extra}"
        if "appointment" in documented:
            assert set(sent["appointment"]) <= set(schema["properties"]["appointment"]["properties"])
    assert SandboxEvent.objects.get(webhook_id=sent["webhookId"]).status == 200


def test_tampered_body_fails_verification(sbx, receiver):
    url, got = receiver
    SandboxSubscription.objects.create(location=sbx[0], url=url)
    events.simulate(sbx[0], "ContactCreate")
    headers, raw = got[0]
    with pytest.raises(Exception):
        _verify(headers, raw.replace(b"Brightside", b"Brightsidx") + b" ")


def test_api_changes_emit_events(ghl, sbx, receiver):
    url, got = receiver
    location = sbx[0]
    SandboxSubscription.objects.create(location=location, url=url,
                                       events=["ContactCreate", "ContactTagUpdate", "OpportunityStageUpdate", "AppointmentCreate"])
    c = ghl("POST", "/contacts/", body={"locationId": location.id, "firstName": "Evie", "email": "evie@example.com"}).json()["contact"]
    ghl("POST", f"/contacts/{c['id']}/tags", body={"tags": ["vip"]})
    ghl("POST", f"/contacts/{c['id']}/notes", body={"body": "not subscribed"})
    opp = store.docs(location, "opportunity")[0]
    pipe = next(p for p in store.docs(location, "pipeline") if p["id"] == opp["pipelineId"])
    new_stage = next(s["id"] for s in pipe["stages"] if s["id"] != opp["pipelineStageId"])
    ghl("PUT", f"/opportunities/{opp['id']}", body={"pipelineStageId": new_stage})
    cal = store.docs(location, "calendar")[0]["id"]
    ghl("POST", "/calendars/events/appointments", version="2021-04-15",
        body={"calendarId": cal, "locationId": location.id, "contactId": c["id"], "startTime": "2025-03-12T15:00:00Z"})
    types = [json.loads(raw)["type"] for _, raw in got]
    assert types == ["ContactCreate", "ContactTagUpdate", "OpportunityStageUpdate", "AppointmentCreate"]
    tag_event = json.loads(got[1][1])
    assert tag_event["id"] == c["id"] and tag_event["tags"] == ["vip"]
    appt = json.loads(got[3][1])["appointment"]
    assert appt["contactId"] == c["id"] and appt["calendarId"] == cal


def test_unreachable_subscriber_is_recorded_not_raised(ghl, sbx):
    SandboxSubscription.objects.create(location=sbx[0], url="http://127.0.0.1:9/nothing")
    resp = ghl("POST", "/contacts/", body={"locationId": sbx[0].id, "firstName": "Ned"})
    assert resp.status_code == 201
    ev = SandboxEvent.objects.get(event_type="ContactCreate")
    assert ev.status is None and ev.error
