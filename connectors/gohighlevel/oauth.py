"""GoHighLevel OAuth 2.0 (Marketplace apps), FACTS.md section 3.

- `authorize_url`: the choose-location page (standard or white-label domain).
- `exchange_code` / `refresh`: POST /oauth/token, form body, no Version header.
- `location_token`: an agency token -> a sub-account token (POST /oauth/locationToken).
The client id/secret come from the connection (config `client_id`, secret `client_secret`) or
from settings `GHL_CLIENT_ID` / `GHL_CLIENT_SECRET`; the token host is the connection's base URL
(so the sandbox works the same way).
"""
from __future__ import annotations

import time
from urllib.parse import urlencode

from .. import errors
from ..auth import OAuthError, token_secrets
from . import BASE_URL

AUTHORIZE_HOSTS = {False: "https://marketplace.gohighlevel.com", True: "https://marketplace.leadconnectorhq.com"}
LOCATION_TOKEN_VERSION = "2021-07-28"


def authorize_url(client_id: str, redirect_uri: str, scopes, state: str = "", white_label: bool = False,
                  open_in_same_window: bool = False) -> str:
    query = {"response_type": "code", "redirect_uri": redirect_uri, "client_id": client_id,
             "scope": " ".join(scopes)}
    if state:
        query["state"] = state
    if open_in_same_window:
        query["loginWindowOpenMode"] = "self"
    return f"{AUTHORIZE_HOSTS[bool(white_label)]}/v2/oauth/chooselocation?{urlencode(query)}"


def _client(client=None):
    if client is not None:
        return client
    from ..safehttp import get_client

    return get_client()


def _app_secrets(config: dict, secrets: dict) -> tuple[str, str]:
    from django.conf import settings

    return (config.get("client_id") or getattr(settings, "GHL_CLIENT_ID", ""),
            secrets.get("client_secret") or getattr(settings, "GHL_CLIENT_SECRET", ""))


def _token_call(base_url: str, form: dict, client=None, headers=None) -> dict:
    resp = _client(client).request("POST", base_url.rstrip("/") + form.pop("_path", "/oauth/token"),
                                   headers={"Accept": "application/json", **(headers or {})}, data=form)
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status >= 400:
        body = body if isinstance(body, dict) else {}
        code = str(body.get("error") or "")
        text = f"{code} {body.get('message', '')} {body.get('error_description', '')}".lower()
        if "invalid_grant" in text or "invalid grant" in text:
            code = "invalid_grant"
        if resp.status >= 500 or not code:
            raise errors.StepError(errors.UPSTREAM if resp.status >= 500 else errors.AUTH,
                                   f"GoHighLevel's token endpoint answered HTTP {resp.status}.",
                                   response={"status": resp.status, "body": body})
        raise OAuthError(code.replace(" ", "_").lower(), str(body.get("error_description") or body.get("message") or ""))
    return body


def exchange_code(code: str, client_id: str, client_secret: str, redirect_uri: str, user_type: str = "Location",
                  base_url: str = BASE_URL, client=None, clock=time.time) -> dict:
    """The authorization code -> {secrets to store, config to store} for a new connection."""
    tokens = _token_call(base_url, {"client_id": client_id, "client_secret": client_secret,
                                    "grant_type": "authorization_code", "code": code, "user_type": user_type,
                                    "redirect_uri": redirect_uri}, client)
    config = {"client_id": client_id, "user_type": tokens.get("userType") or user_type,
              "location_id": tokens.get("locationId") or "", "company_id": tokens.get("companyId") or "",
              "scopes": (tokens.get("scope") or "").split(), "base_url": base_url}
    return {"secrets": {**token_secrets(tokens, clock()), "client_secret": client_secret}, "config": config,
            "tokens": tokens}


def refresh(credentials, secrets: dict, client=None) -> dict:
    """The `refresher` for connectors.auth: grant_type=refresh_token. Returns the token response."""
    config = credentials.config or {}
    client_id, client_secret = _app_secrets(config, secrets)
    form = {"client_id": client_id, "client_secret": client_secret, "grant_type": "refresh_token",
            "refresh_token": secrets["refresh_token"]}
    if config.get("user_type"):
        form["user_type"] = config["user_type"]
    return _token_call(config.get("base_url") or BASE_URL, form, client)


def location_token(agency_credentials, location_id: str, client=None, clock=time.time) -> dict:
    """Mint a sub-account token from an agency connection. No refresh token comes back: re-mint
    from the agency token when it expires. Returns secrets to store ({access_token, expires_at})."""
    from .. import auth
    from . import APP

    headers = {"Version": LOCATION_TOKEN_VERSION}
    auth.apply(APP, agency_credentials, headers)
    config = agency_credentials.config or {}
    tokens = _token_call(config.get("base_url") or BASE_URL,
                         {"_path": "/oauth/locationToken", "companyId": config.get("company_id", ""),
                          "locationId": location_id}, client, headers)
    return {"access_token": tokens["access_token"], "expires_at": clock() + float(tokens.get("expires_in") or 86399),
            "location_id": tokens.get("locationId") or location_id, "scopes": (tokens.get("scope") or "").split()}
