"""Webhook intake: parse by the real Content-Type, store the raw delivery, then answer.

Order matters: verify -> parse -> store the delivery and its run in one transaction (shared with the
deliveries other threads of this process store at the same moment: group commit) -> commit -> answer
2xx; a worker's pump takes the run from the runs table. A duplicate delivery id makes no second run (the
sender gets 200 so it stops retrying). When the database is unavailable the sender gets 503 and
retries; nothing is answered 2xx before it is stored.
"""
from __future__ import annotations

import json
import logging
import uuid

from django.conf import settings
from django.db import DatabaseError, IntegrityError

from . import conditions, fastsql, mapping
from .groupcommit import GroupCommit
from .engine import definition, queue_run
from .models import WebhookDelivery

log = logging.getLogger("flowline.intake")

DELIVERY_HEADERS = ("webhook-id", "x-webhook-id", "x-delivery-id", "x-request-id-delivery", "idempotency-key",
                    "x-ghl-webhook-id")
KEPT_HEADERS = ("content-type", "user-agent", "x-forwarded-for") + DELIVERY_HEADERS
MAX_JSON_DEPTH = 64
_writes = GroupCommit()  # concurrent deliveries in this process share a transaction (automations/groupcommit.py)


class IntakeError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _depth(value, limit=MAX_JSON_DEPTH) -> int:
    stack, deepest = [(value, 1)], 0
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return deepest


def parse_body(body: bytes, content_type: str, query: dict) -> dict:
    """Parse a webhook body by its declared Content-Type. Never guesses a file path or form-file."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise IntakeError(400, "The body is not valid UTF-8") from None
    if ctype.startswith("multipart/"):
        raise IntakeError(415, "File uploads are not accepted; send JSON, a form or text")
    if ctype == "application/json" or ctype.endswith("+json") or (not ctype and text.lstrip()[:1] in "{["):
        if not text.strip():
            payload = {}
        else:
            try:
                payload = json.loads(text)
            except (ValueError, RecursionError):
                raise IntakeError(400, "The body is not valid JSON") from None
        if _depth(payload) > MAX_JSON_DEPTH:
            raise IntakeError(400, f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels")
        if not isinstance(payload, dict):
            payload = {"items": payload} if isinstance(payload, list) else {"value": payload}
    elif ctype == "application/x-www-form-urlencoded":
        from django.http import QueryDict

        qd = QueryDict(text, encoding="utf-8")
        payload = {k: (v[0] if len(v) == 1 else v) for k, v in qd.lists()}
    elif ctype.startswith("text/") or not ctype:
        payload = {"body": text}
    else:
        raise IntakeError(415, f"Unsupported content type {ctype!r}; send JSON, a form or text")
    if query:
        payload.setdefault("query", query)
    return payload


def delivery_id(headers, payload) -> str:
    for h in DELIVERY_HEADERS:
        v = headers.get(h)
        if v:
            return str(v)[:200]
    if isinstance(payload, dict) and isinstance(payload.get("webhookId"), str):
        return payload["webhookId"][:200]
    return f"auto:{uuid.uuid4().hex}"


def passes_trigger_filter(trigger: dict, payload: dict) -> bool:
    group = trigger.get("filter")
    if not group:
        return True
    try:
        return conditions.evaluate(group, {"trigger": payload, "steps": {}})
    except mapping.MappingError:
        return True  # a broken filter must not drop events; the run shows the data


def accept(flow, body: bytes, headers, query: dict, *, source="webhook", payload=None) -> dict:
    """Store one delivery for `flow` and create its run. Returns the answer to send."""
    if len(body) > settings.WEBHOOK_MAX_BODY:
        raise IntakeError(413, f"The body is larger than {settings.WEBHOOK_MAX_BODY} bytes")
    content_type = headers.get("content-type", "")
    if payload is None:
        payload = parse_body(body, content_type, query)
    did = delivery_id(headers, payload)
    trigger = definition(flow.published_id).get("trigger") or {}
    if not passes_trigger_filter(trigger, payload):
        return {"status": "filtered"}
    kept = {h: v for h in KEPT_HEADERS if (v := headers.get(h))}

    def store():
        run_id = queue_run(flow, payload, source=source, dedupe_key=f"delivery:{did}")
        fastsql.insert_row(WebhookDelivery, workspace_id=flow.workspace_id, flow_id=flow.pk, source=source,
                           delivery_id=did, content_type=content_type[:200], headers=kept, body=body, run_id=run_id)
        return run_id

    try:
        run_id = _writes.run(store)  # committed when it returns, possibly with other threads' deliveries
    except IntegrityError:
        existing = WebhookDelivery.objects.filter(flow=flow, delivery_id=did).values_list("run_id", flat=True).first()
        return {"status": "duplicate", "run_id": existing}
    except DatabaseError:
        log.exception("webhook intake for flow %s: database unavailable", flow.pk)
        raise IntakeError(503, "Temporarily unavailable, please retry") from None
    return {"status": "accepted", "run_id": run_id}
