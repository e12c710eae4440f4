"""Applying a connection's credentials to a request, for any app.

- `api_key` connections send `Authorization: Bearer <api_key>` (GoHighLevel Private Integration
  tokens) unless the app's `auth_hook` says otherwise (see `api_key_header` for header-key APIs).
- `oauth2` connections send the access token, refreshed shortly before it expires. A refresh is
  single-flight: inside `credentials.refresh_lock()` the secrets are re-read, and if a sibling
  already refreshed, its token is used (one provider call for N concurrent callers). The rotated
  refresh token is saved. `invalid_grant` marks the connection as needing re-authorisation.
"""
from __future__ import annotations

import importlib
import time
from typing import Callable

from . import errors

REFRESH_SKEW = 300  # seconds before expiry we refresh


class OAuthError(Exception):
    """The token endpoint refused: `error` is the OAuth error code (invalid_grant...)."""

    def __init__(self, error: str, description: str = ""):
        super().__init__(f"{error}: {description}" if description else error)
        self.error, self.description = error, description


def import_path(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def apply(app, credentials, headers: dict, force_refresh: bool = False) -> None:
    """Put the credentials on `headers` (the app's `auth_hook` when it declares one)."""
    if credentials is None:
        return
    if app.auth_hook:
        import_path(app.auth_hook)(app, credentials, headers, force_refresh)
    else:
        bearer(credentials, headers, refresher=None, force_refresh=force_refresh)


def can_refresh(credentials) -> bool:
    return credentials is not None and credentials.auth_kind == "oauth2" and bool(credentials.secrets().get("refresh_token"))


def bearer(credentials, headers: dict, refresher: Callable[[object, dict], dict] | None, force_refresh=False,
           clock=time.time) -> None:
    if credentials.auth_kind == "oauth2":
        token = oauth2_token(credentials, refresher, force=force_refresh, clock=clock)
    else:
        secrets = credentials.secrets()
        token = secrets.get("api_key") or secrets.get("access_token")
    if not token:
        raise errors.StepError(errors.AUTH, "This connection has no token; reconnect it.", retryable=False)
    headers["Authorization"] = f"Bearer {token}"


def api_key_header(name: str, prefix: str = "") -> Callable:
    """An `auth_hook` for APIs that take the key in a header of their own."""

    def hook(app, credentials, headers, force_refresh=False):
        headers[name] = prefix + (credentials.secrets().get("api_key") or "")

    return hook


def _valid(secrets: dict, now: float) -> bool:
    return bool(secrets.get("access_token")) and float(secrets.get("expires_at") or 0) - REFRESH_SKEW > now


def oauth2_token(credentials, refresher, force: bool = False, clock=time.time) -> str:
    """A usable access token, refreshing (once, under the connection's lock) when needed.

    `refresher(credentials, secrets) -> {access_token, refresh_token?, expires_in}` calls the
    provider; `force` is the retry after a 401 (the token we used was refused)."""
    secrets = credentials.secrets()
    used = secrets.get("access_token")
    if not force and _valid(secrets, clock()):
        return used
    with credentials.refresh_lock():
        secrets = credentials.secrets()  # re-read: a sibling may have refreshed meanwhile
        if secrets.get("access_token") != used and _valid(secrets, clock()):
            return secrets["access_token"]
        if not force and _valid(secrets, clock()):
            return secrets["access_token"]
        if refresher is None or not secrets.get("refresh_token"):
            raise _reauth(credentials, "The access token expired and cannot be refreshed.")
        try:
            tokens = refresher(credentials, secrets)
        except OAuthError as exc:
            if exc.error in ("invalid_grant", "invalid_client", "unauthorized_client"):
                raise _reauth(credentials, f"The provider refused the saved authorisation ({exc.error}).") from None
            raise errors.StepError(errors.AUTH, f"Token refresh failed: {exc}") from None
        new = token_secrets(tokens, clock(), secrets.get("refresh_token"))
        credentials.update_secrets(new)
        return new["access_token"]


def token_secrets(tokens: dict, now: float, old_refresh: str | None = None) -> dict:
    """What to store from a token response: the rotated refresh token every time."""
    return {
        "access_token": tokens["access_token"],
        "refresh_token": tokens.get("refresh_token") or old_refresh,
        "expires_at": now + float(tokens.get("expires_in") or 3600),
    }


def _reauth(credentials, reason: str) -> errors.StepError:
    message = f"{reason} Reconnect the account to authorise it again."
    credentials.mark_needs_reauth(message)
    return errors.StepError(errors.AUTH, message, retryable=False)
