"""One redaction function, applied before every write and render of run data.

Redacts by key name (Authorization, *token*, *secret*, api_key, password...) and by value: every
known secret of the run's connections is replaced wherever it appears (substring match for secrets
of 8+ characters, exact match for shorter ones).
"""
from __future__ import annotations

import re
from typing import Any, Iterable

MASK = "[redacted]"
SENSITIVE_KEY = re.compile(
    r"(authorization|token|secret|password|passwd|api[-_]?key|apikey|client[-_]?secret|cookie|signature|"
    r"x-mailerlite-apikey|private[-_]?key|refresh)",
    re.I,
)
# Keys that contain a sensitive word but are not secrets.
SAFE_KEYS = {"token_type", "tokentype", "expires_in", "idempotency-key", "x-ratelimit-remaining"}


def secret_values(secrets: Iterable[Any]) -> list[str]:
    """Flatten secrets (strings, dicts of strings) into the values to hide, longest first."""
    out: set[str] = set()

    def add(v):
        if isinstance(v, dict):
            for x in v.values():
                add(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                add(x)
        elif isinstance(v, str) and len(v) >= 4:
            out.add(v)

    for s in secrets:
        add(s)
    return sorted(out, key=len, reverse=True)


def redact_text(text: str, values: list[str]) -> str:
    for v in values:
        if len(v) >= 8:
            if v in text:
                text = text.replace(v, MASK)
        elif text == v:
            return MASK
    return text


def redact(data: Any, values: list[str] = (), depth: int = 0) -> Any:
    """Return a redacted copy of JSON-like `data`."""
    if depth > 64:
        return MASK
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            ks = str(k)
            if ks.lower() not in SAFE_KEYS and SENSITIVE_KEY.search(ks) and v not in (None, "", [], {}):
                out[k] = MASK
            else:
                out[k] = redact(v, values, depth + 1)
        return out
    if isinstance(data, (list, tuple)):
        return [redact(v, values, depth + 1) for v in data]
    if isinstance(data, str):
        return redact_text(data, values) if values else data
    return data
