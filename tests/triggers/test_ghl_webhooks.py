"""GoHighLevel instant triggers: signatures (Ed25519 first, RSA fallback), replay window, routing by
location and event, both body shapes, duplicates, trigger filters at the source."""
import base64
import json
import logging
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from automations.models import Connection, Run, WebhookDelivery
from automations.webhook_verify import SignatureInvalid, verify_ghl

from .conftest import STEPS


def _pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class Signer:
    def __init__(self):
        self.ed = ed25519.Ed25519PrivateKey.generate()
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def headers(self, raw: bytes, scheme="both"):
        out = {}
        if scheme in ("both", "ed25519"):
            out["HTTP_X_GHL_SIGNATURE"] = base64.b64encode(self.ed.sign(raw)).decode()
        if scheme in ("both", "rsa"):
            out["HTTP_X_WH_SIGNATURE"] = base64.b64encode(self.rsa.sign(raw, padding.PKCS1v15(), hashes.SHA256())).decode()
        return out


@pytest.fixture(scope="module")
def keys():
    return Signer(), Signer()  # (GoHighLevel's current keys, a stranger's / the old keys)


@pytest.fixture
def ghl(settings, keys):
    good, _ = keys
    settings.GHL_WEBHOOK_ED25519_KEYS = [_pem(good.ed)]
    settings.GHL_WEBHOOK_RSA_KEYS = [_pem(good.rsa)]
    return good


def as_headers(django_headers):
    return {k[5:].replace("_", "-").lower(): v for k, v in django_headers.items()}


def event(kind="ContactCreate", location="loc1", skew=0, **fields):
    stamp = (datetime.now(timezone.utc) + timedelta(seconds=skew)).isoformat().replace("+00:00", "Z")
    return {"type": kind, "locationId": location, "id": "ct_1", "email": "jo@example.com", "tags": ["vip"],
            "timestamp": stamp, "webhookId": fields.pop("webhookId", "wh_1"), **fields}


def raw(body):
    return json.dumps(body, separators=(",", ":")).encode()


# --- verification ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["ed25519", "rsa"])
def test_valid_signatures(ghl, scheme):
    body = raw(event())
    assert verify_ghl(body, as_headers(ghl.headers(body, scheme)), sandbox=False) == scheme


@pytest.mark.parametrize("case", ["flipped byte", "wrong key", "missing header", "reserialized", "not base64"])
@pytest.mark.parametrize("scheme", ["ed25519", "rsa"])
def test_invalid_signatures(ghl, keys, scheme, case):
    body = raw(event())
    signer = keys[1] if case == "wrong key" else ghl
    headers = as_headers(signer.headers(body, scheme))
    if case == "flipped byte":
        body = body[:10] + bytes([body[10] ^ 1]) + body[11:]
    elif case == "missing header":
        headers = {}
    elif case == "reserialized":
        body = json.dumps(json.loads(body), indent=1).encode()
    elif case == "not base64":
        headers = {k: "%%%" for k in headers}
    with pytest.raises(SignatureInvalid):
        verify_ghl(body, headers, sandbox=False)


def test_ed25519_present_means_no_rsa_fallback(ghl, keys):
    body = raw(event())
    headers = as_headers({**keys[1].headers(body, "ed25519"), **ghl.headers(body, "rsa")})
    with pytest.raises(SignatureInvalid, match="ed25519"):
        verify_ghl(body, headers, sandbox=False)


@pytest.mark.parametrize("scheme", ["ed25519", "rsa"])
def test_key_rotation(settings, keys, scheme):
    new, old = keys
    body = raw(event())
    settings.GHL_WEBHOOK_ED25519_KEYS = [_pem(new.ed), _pem(old.ed)]
    settings.GHL_WEBHOOK_RSA_KEYS = [_pem(new.rsa), _pem(old.rsa)]
    for signer in (new, old):  # overlap: both accepted
        verify_ghl(body, as_headers(signer.headers(body, scheme)), sandbox=False)
    settings.GHL_WEBHOOK_ED25519_KEYS, settings.GHL_WEBHOOK_RSA_KEYS = [_pem(new.ed)], [_pem(new.rsa)]
    with pytest.raises(SignatureInvalid):
        verify_ghl(body, as_headers(old.headers(body, scheme)), sandbox=False)


@pytest.mark.parametrize("scheme", ["ed25519", "rsa"])
@pytest.mark.parametrize("skew, ok", [(-299, True), (299, True), (-301, False), (301, False)])
def test_replay_window(ghl, scheme, skew, ok):
    body = raw(event(skew=skew))
    headers = as_headers(ghl.headers(body, scheme))
    if ok:
        verify_ghl(body, headers, sandbox=False)
    else:
        with pytest.raises(SignatureInvalid, match="timestamp"):
            verify_ghl(body, headers, sandbox=False)


def test_default_keys_are_ghls_published_keys(settings):
    from automations.webhook_verify import keys as trusted

    settings.GHL_WEBHOOK_ED25519_KEYS = settings.GHL_WEBHOOK_RSA_KEYS = None
    assert len(trusted("ed25519", sandbox=False)) == 1 and trusted("rsa", sandbox=False)[0].key_size == 4096


# --- endpoints ------------------------------------------------------------------------------------


@pytest.fixture
def ghl_flow(catalogue, make_flow, ws):
    def make(event_name="ContactCreate", location="loc1", sandbox=False, filter=None, workspace=None):
        conn = Connection.objects.create(workspace=workspace or ws, app="gohighlevel", name="GHL", auth_kind="oauth2",
                                         config={"location_id": location, "sandbox": sandbox})
        trigger = {"operation": f"gohighlevel.event.{event_name}", "connection": conn.pk, "inputs": {}}
        if filter:
            trigger["filter"] = filter
        return make_flow(STEPS, trigger=trigger, workspace=workspace)

    return make


def post_app(client, signer, body, scheme="both"):
    data = raw(body)
    return client.post("/hooks/ghl/app", data=data, content_type="application/json", **signer.headers(data, scheme))


def test_app_webhook_routes_by_location_and_event(client, ghl, ghl_flow, other_ws):
    mine = ghl_flow()
    other_location = ghl_flow(location="loc2")
    other_event = ghl_flow("OpportunityStageUpdate")
    elsewhere = ghl_flow(workspace=other_ws)  # another client with the same location: gets its own run
    r = post_app(client, ghl, event())
    assert r.status_code == 200 and r.json()["flows"] == 2
    assert Run.objects.filter(flow=mine).count() == 1 and Run.objects.filter(flow=elsewhere).count() == 1
    assert not Run.objects.filter(flow__in=[other_location, other_event]).exists()
    run = Run.objects.get(flow=mine)
    assert run.trigger_payload["email"] == "jo@example.com" and run.source == "ghl"
    assert WebhookDelivery.objects.get(flow=mine).delivery_id == "wh_1"


def test_both_body_shapes(client, ghl, ghl_flow):
    flow = ghl_flow()
    flat = event(webhookId="a")
    nested = {"type": "ContactCreate", "locationId": "loc1", "webhookId": "b", "timestamp": flat["timestamp"],
              "data": {"id": "ct_2", "email": "al@example.com"}}
    assert post_app(client, ghl, flat).status_code == 200 and post_app(client, ghl, nested).status_code == 200
    payloads = [r.trigger_payload for r in Run.objects.filter(flow=flow).order_by("id")]
    assert [p["email"] for p in payloads] == ["jo@example.com", "al@example.com"] and payloads[1]["webhookId"] == "b"


def test_invalid_signature_is_401_and_logged_without_the_body(client, ghl, keys, ghl_flow, caplog):
    flow = ghl_flow()
    caplog.set_level(logging.INFO)
    r = post_app(client, keys[1], event(email="secret-person@example.com"))
    assert r.status_code == 401 and not Run.objects.filter(flow=flow).exists()
    assert "rejected" in caplog.text and "secret-person" not in caplog.text
    stale = event(skew=-600)
    assert post_app(client, ghl, stale).status_code == 401


def test_duplicate_deliveries_make_one_run_each(client, ghl, ghl_flow):
    flow = ghl_flow()
    bodies = [event(webhookId=f"wh_{n}", id=f"ct_{n}") for n in range(500)]
    for _ in range(3):
        for body in bodies:
            assert post_app(client, ghl, body).status_code == 200
    assert Run.objects.filter(flow=flow).count() == 500 == WebhookDelivery.objects.filter(flow=flow).count()


def test_sandbox_keys_only_for_sandbox_connections(client, ghl_flow):
    from connectors.sandbox.keys import sign

    real, sandbox = ghl_flow(location="loc9"), ghl_flow(location="loc9", sandbox=True)
    data = raw(event(location="loc9"))
    headers = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in sign(data).items()}
    r = client.post("/hooks/ghl/app", data=data, content_type="application/json", **headers)
    assert r.status_code == 200 and r.json()["flows"] == 1
    assert Run.objects.filter(flow=sandbox).count() == 1 and not Run.objects.filter(flow=real).exists()
    real.delete()
    Connection.objects.filter(config__sandbox=True).update(config={"location_id": "loc9", "sandbox": False})
    r = client.post("/hooks/ghl/app", data=data, content_type="application/json", **headers)
    assert r.status_code == 401


def test_per_flow_url_for_ghl_workflow_webhooks(client, ghl, keys, ghl_flow):
    flow = ghl_flow("OpportunityStageUpdate", filter={"any": [{"all": [
        {"left": "{{ trigger.pipelineId }}", "op": "equals", "right": "pZ"},
        {"left": "{{ trigger.pipelineStageId }}", "op": "equals", "right": "sY"}]}]})
    url = f"/hooks/ghl/{flow.webhook_token}"
    body = {"id": "op1", "pipelineId": "pZ", "pipelineStageId": "sY", "webhookId": "w1"}
    r = client.post(url, data=raw(body), content_type="application/json")  # unsigned: the URL authenticates
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert client.post(url, data=raw(body), content_type="application/json").json()["status"] == "duplicate"
    other_stage = {**body, "pipelineStageId": "sX", "webhookId": "w2"}
    assert client.post(url, data=raw(other_stage), content_type="application/json").json()["status"] == "filtered"
    signed_badly = raw({**body, "webhookId": "w3"})
    r = client.post(url, data=signed_badly, content_type="application/json", **keys[1].headers(signed_badly))
    assert r.status_code == 401
    assert Run.objects.filter(flow=flow).count() == 1
    assert client.post("/hooks/ghl/nope", data=b"{}", content_type="application/json").status_code == 404
    assert client.get(url).status_code == 405


def test_per_flow_url_ignores_other_event_types(client, ghl_flow):
    """A location subscribed for every event posts them all to the URL: a "New contact" flow must not
    run for the TaskCreate its own step causes."""
    flow = ghl_flow("ContactCreate")
    url = f"/hooks/ghl/{flow.webhook_token}"
    task = {"type": "TaskCreate", "locationId": "loc1", "id": "t1", "title": "Call", "webhookId": "t1"}
    r = client.post(url, data=raw(task), content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "ignored"
    contact = {"type": "ContactCreate", "locationId": "loc1", "id": "c1", "webhookId": "c1"}
    assert client.post(url, data=raw(contact), content_type="application/json").json()["status"] == "accepted"
    assert Run.objects.filter(flow=flow).count() == 1


def test_filtered_app_events_create_nothing(client, ghl, ghl_flow):
    flow = ghl_flow("ContactTagUpdate", filter={"any": [{"all": [
        {"left": "{{ trigger.tags }}", "op": "contains", "right": "customer"}]}]})
    post_app(client, ghl, event("ContactTagUpdate", tags=["lead"], webhookId="x1"))
    post_app(client, ghl, event("ContactTagUpdate", tags=["customer"], webhookId="x2"))
    assert Run.objects.filter(flow=flow).count() == 1 and WebhookDelivery.objects.filter(flow=flow).count() == 1


def test_instant_event_operations(catalogue):
    from automations.ghl_events import BY_EVENT, OPERATIONS
    from connectors import registry

    assert len(OPERATIONS) == 23 and BY_EVENT["ConversationUnreadUpdate"].key == "gohighlevel.event.ConversationUnreadWebhook"
    op = registry.get_operation("gohighlevel.event.AppointmentCreate")
    assert op.kind == "trigger" and op.extra["instant"]
    assert op.output_schema["properties"]["appointment"]["properties"]["users"] == {"type": "array"}
