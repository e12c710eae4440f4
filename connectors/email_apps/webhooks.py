"""Inbound webhooks of the email apps: verify, dedupe key, split batches into events.

Each app's `inbound(raw_body, headers, secrets, config, now) -> list[Event]` raises `Rejected`
(answer 401, log without the body) or returns the events to store, each with the delivery id
intake dedupes on. An empty list means "acknowledge with 2xx, start nothing" (MailerSend's
`webhook.test` ping). Pure functions: no database, no HTTP.

MailerSend [C]: `Signature` = lowercase hex HMAC-SHA256(raw body, the webhook's signing secret),
compared in constant time; no signed timestamp, so replay protection is the `data.id` dedupe plus
a staleness check on `created_at` (`stale_after`, default 1 hour; MailerSend retries after 10 s and
100 s). The public test secret MailerSend signs `webhook.test` with is accepted for that event only.
MailerLite Classic [S/U]: optional `X-MailerLite-Signature` = base64 HMAC-SHA256(raw body, API key).
SendPulse: no signature exists; the flow's secret URL is the guard.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timezone

DEFAULT_STALE_AFTER = 3600  # seconds


class Rejected(Exception):
    def __init__(self, reason: str, status: int = 401):
        super().__init__(reason)
        self.reason, self.status = reason, status


@dataclass
class Event:
    delivery_id: str
    payload: dict


def hex_hmac(secret: str, raw: bytes) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def _header(headers, name: str) -> str:
    value = headers.get(name) if hasattr(headers, "get") else None
    if value is None and isinstance(headers, dict):
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return (value or "").strip()


def _json(raw: bytes):
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Rejected("the body is not JSON", 400) from None


def _moment(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _test_secret(config: dict) -> str:
    from django.conf import settings

    return config.get("mailersend_test_secret") or getattr(settings, "MAILERSEND_WEBHOOK_TEST_SECRET", "") or ""


def mailersend_inbound(raw: bytes, headers, secrets: dict, config: dict | None = None,
                       now: datetime | None = None) -> list[Event]:
    """Verify a MailerSend delivery. `secrets["webhook_secrets"]` holds `{webhook id: secret}` (stored
    when Flowline created the webhook) and/or `secrets["signing_secret"]` (pasted by the user)."""
    config = config or {}
    given = _header(headers, "Signature").lower()
    if not given:
        raise Rejected("no Signature header")
    known = [s for s in list((secrets.get("webhook_secrets") or {}).values()) + [secrets.get("signing_secret")] if s]
    if not known and not _test_secret(config):
        raise Rejected("no signing secret is stored for this connection")
    own = any(hmac.compare_digest(hex_hmac(s, raw), given) for s in known)
    test = _test_secret(config)
    by_test_secret = bool(test) and hmac.compare_digest(hex_hmac(test, raw), given)
    if not (own or by_test_secret):
        raise Rejected("the Signature does not match the body")
    payload = _json(raw)
    if not isinstance(payload, dict):
        raise Rejected("the body is not a JSON object", 400)
    if payload.get("type") == "webhook.test":
        return []  # acknowledged (MailerSend refuses to save a webhook whose ping fails); no run
    if not own:
        raise Rejected("the public test secret is accepted for webhook.test only")
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    created = _moment(payload.get("created_at"))
    if created is None:
        raise Rejected("the event has no created_at")
    age = ((now or datetime.now(timezone.utc)) - created).total_seconds()
    limit = float(config.get("stale_after") or DEFAULT_STALE_AFTER)
    if age > limit or age < -300:
        raise Rejected(f"stale event: created {int(age)} s ago (more than {int(limit)} s)")
    if not data.get("id"):
        raise Rejected("the event has no data.id", 400)
    return [Event(f"mailersend:{data['id']}", normalize_mailersend(payload))]


def normalize_mailersend(payload: dict) -> dict:
    """Both documented shapes: flat (`data.email` a string, `data.message_id`) and nested legacy
    (`data.email.recipient.email`, `data.email.message.id`) get `recipient` and `message_id` on top."""
    data = payload.get("data") or {}
    email = data.get("email")
    if isinstance(email, dict):
        recipient = (email.get("recipient") or {}).get("email")
        message_id = (email.get("message") or {}).get("id") or data.get("message_id")
        subject = email.get("subject") or data.get("subject")
    else:
        recipient, message_id, subject = email or data.get("recipient"), data.get("message_id"), data.get("subject")
    return {**payload, "recipient": recipient, "message_id": message_id, "subject": subject,
            "event": str(payload.get("type") or "").removeprefix("activity.")}


def mailerlite_inbound(raw: bytes, headers, secrets: dict, config: dict | None = None,
                       now: datetime | None = None) -> list[Event]:
    """`{"events": [...]}` -> one event each, keyed webhook_id + timestamp + subscriber id + type.
    The signature check runs only when the connection sets `verify_signature` (unconfirmed scheme)."""
    config = config or {}
    if config.get("verify_signature"):
        given = _header(headers, "X-MailerLite-Signature")
        expected = base64.b64encode(hmac.new((secrets.get("api_key") or "").encode(), raw, hashlib.sha256).digest()).decode()
        if not given or not hmac.compare_digest(expected, given):
            raise Rejected("the X-MailerLite-Signature does not match the body")
    payload = _json(raw)
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        raise Rejected("expected {\"events\": [...]}", 400)
    out = []
    for e in events:
        if not isinstance(e, dict):
            continue
        sub = (e.get("data") or {}).get("subscriber") or {}
        key = ":".join(str(x) for x in (e.get("webhook_id"), e.get("timestamp"), sub.get("id"), e.get("type")))
        fields = {f.get("key"): f.get("value") for f in sub.get("fields") or [] if isinstance(f, dict)}
        out.append(Event(f"mailerlite:{key}", {**e, "subscriber": {**sub, "field_values": fields}}))
    return out


def sendpulse_inbound(raw: bytes, headers, secrets: dict, config: dict | None = None,
                      now: datetime | None = None) -> list[Event]:
    """A bare JSON array (batched every minute or 100 events) -> one event each, keyed
    (event, email, task_id, timestamp). No signature exists [S]."""
    payload = _json(raw)
    items = payload if isinstance(payload, list) else [payload] if isinstance(payload, dict) else []
    out = []
    for e in items:
        if isinstance(e, dict):
            key = ":".join(str(e.get(k) or "") for k in ("event", "email", "task_id", "timestamp"))
            out.append(Event(f"sendpulse:{hashlib.sha256(key.encode()).hexdigest()[:40]}", e))
    return out


INBOUND = {"mailersend": mailersend_inbound, "mailerlite": mailerlite_inbound, "sendpulse": sendpulse_inbound}


def inbound(app: str, raw: bytes, headers, credentials=None, now: datetime | None = None) -> list[Event]:
    """The one entry point intake calls for a flow whose trigger is `<app>.webhook_event`."""
    secrets = credentials.secrets() if credentials is not None else {}
    config = getattr(credentials, "config", None) or {}
    return INBOUND[app](raw, headers, secrets, config, now)
