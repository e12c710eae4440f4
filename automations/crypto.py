"""Secrets at rest: MultiFernet over FLOWLINE_ENCRYPTION_KEYS (newest first), so keys can rotate.

Encrypt with the first key; decrypt with any. `manage.py rotate_keys` re-encrypts every stored
secret under the newest key; the old key can be dropped afterwards.
"""
from __future__ import annotations

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretError(Exception):
    pass


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise SecretError("No encryption key: set FLOWLINE_ENCRYPTION_KEYS.")
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except (ValueError, TypeError) as exc:
        raise SecretError(f"FLOWLINE_ENCRYPTION_KEYS holds an invalid Fernet key: {exc}") from None


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.ENCRYPTION_KEYS))


def encrypt(data: dict) -> str:
    return fernet().encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()


def decrypt(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except InvalidToken:
        raise SecretError(
            "A stored secret cannot be decrypted with FLOWLINE_ENCRYPTION_KEYS (was a key removed too early?)."
        ) from None


def rotate(token: str) -> str:
    return fernet().rotate(token.encode()).decode() if token else token


def check_keys() -> str | None:
    """A problem with the configured keys, or None. Run at start-up (system check)."""
    try:
        f = fernet()
        f.decrypt(f.encrypt(b"probe"))
    except SecretError as exc:
        return str(exc)
    return None
