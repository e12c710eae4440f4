"""Verify GoHighLevel webhook signatures on the raw request body.

GoHighLevel signs the raw body two ways (FACTS.md section 8):
- `X-GHL-Signature`: base64 Ed25519 (the current scheme). When present it is the only one checked:
  no fallback, so a stripped or forged Ed25519 header cannot downgrade to RSA;
- `x-wh-signature`: base64 RSA-SHA256, PKCS#1 v1.5 (legacy; deprecated by GoHighLevel in 2026).
Keys come from settings `GHL_WEBHOOK_ED25519_KEYS` / `GHL_WEBHOOK_RSA_KEYS` (lists of PEMs, several
for rotation; defaults in ghl_keys.py). The sandbox's own keys are trusted only when the caller says
the target connection is a sandbox connection. Then the body's `timestamp` must be within
`GHL_WEBHOOK_TOLERANCE` seconds (default 300) of now; a body without one is accepted unless
`GHL_WEBHOOK_REQUIRE_TIMESTAMP` (GoHighLevel's per-event docs omit it; duplicate `webhookId`s are
rejected by intake's per-flow dedupe either way).
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime, timezone as dt_timezone
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from django.conf import settings

from . import ghl_keys

ED_HEADER, RSA_HEADER = "x-ghl-signature", "x-wh-signature"


class SignatureInvalid(Exception):
    """The delivery is not provably from GoHighLevel; `reason` says why (never contains the body)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@lru_cache(maxsize=64)
def _load(pem: str):
    return serialization.load_pem_public_key(pem.encode())


def keys(kind: str, *, sandbox: bool) -> list:
    """Public keys of `kind` ("ed25519" or "rsa") trusted for this delivery."""
    if kind == "ed25519":
        pems = list(getattr(settings, "GHL_WEBHOOK_ED25519_KEYS", None) or [ghl_keys.ED25519_PUBLIC_KEY])
    else:
        pems = list(getattr(settings, "GHL_WEBHOOK_RSA_KEYS", None) or [ghl_keys.RSA_PUBLIC_KEY])
    if sandbox:
        from connectors.sandbox.keys import public_keys

        pems.append(public_keys()[kind])
    return [_load(p) for p in pems]


def _signatures(header: str) -> list[bytes]:
    """Decode a header holding one or more base64 signatures (space or comma separated)."""
    out = []
    for part in re.split(r"[\s,]+", header.strip()):
        try:
            out.append(base64.b64decode(part, validate=True))
        except (binascii.Error, ValueError):
            continue
    return out


def _check(public_key, signature: bytes, body: bytes) -> bool:
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, body)
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def verify_signature(raw_body: bytes, headers, *, sandbox: bool) -> str:
    """Check the signature; returns the scheme that matched ("ed25519" or "rsa")."""
    ed, rs = headers.get(ED_HEADER), headers.get(RSA_HEADER)
    kind, header = ("ed25519", ed) if ed else ("rsa", rs) if rs else (None, None)
    if kind is None:
        raise SignatureInvalid("no X-GHL-Signature or x-wh-signature header")
    signatures = _signatures(header)
    if not signatures:
        raise SignatureInvalid(f"the {kind} signature is not base64")
    if any(_check(key, sig, raw_body) for key in keys(kind, sandbox=sandbox) for sig in signatures):
        return kind
    raise SignatureInvalid(f"the {kind} signature does not match the body")


def _moment(value) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, dt_timezone.utc)
    if isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=dt_timezone.utc)
    return None


def check_timestamp(payload: dict, now: datetime | None = None) -> None:
    """Reject a body whose `timestamp` is outside the tolerance window (either direction)."""
    tolerance = float(getattr(settings, "GHL_WEBHOOK_TOLERANCE", 300))
    inner = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    value = payload.get("timestamp", inner.get("timestamp"))
    if value is None:
        if getattr(settings, "GHL_WEBHOOK_REQUIRE_TIMESTAMP", False):
            raise SignatureInvalid("the body has no timestamp")
        return
    moment = _moment(value)
    if moment is None:
        raise SignatureInvalid("the body's timestamp is not a date")
    skew = abs(((now or datetime.now(dt_timezone.utc)) - moment).total_seconds())
    if skew > tolerance:
        raise SignatureInvalid(f"the timestamp is {int(skew)} s away from now (more than {int(tolerance)} s)")


def verify_ghl(raw_body: bytes, headers, *, sandbox: bool, now: datetime | None = None) -> str:
    """Verify a GoHighLevel delivery: signature over the raw bytes, then the timestamp window.
    Raises SignatureInvalid; returns the scheme that matched."""
    kind = verify_signature(raw_body, headers, sandbox=sandbox)
    try:
        payload = json.loads(raw_body)
    except ValueError:
        raise SignatureInvalid("the signed body is not JSON") from None
    check_timestamp(payload if isinstance(payload, dict) else {}, now)
    return kind
