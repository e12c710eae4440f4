"""Sandbox fixtures: a seeded location with its tokens, and a GoHighLevel-style client."""
import json

import pytest
from django.core.cache import cache

from connectors.sandbox import store

BASE = "/sandbox/gohighlevel"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def sbx(db):
    location, token = store.create_location("Brightside Marketing")
    return location, token


class Ghl:
    """Calls the in-process sandbox like an HTTP client would call services.leadconnectorhq.com."""

    def __init__(self, client, token, version="2021-07-28"):
        self.client, self.token, self.version = client, token, version

    def __call__(self, method, path, body=None, query=None, token=None, version=None, headers=None):
        extra = {}
        tok = self.token if token is None else token
        if tok:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {tok}"
        ver = self.version if version is None else version
        if ver:
            extra["HTTP_VERSION"] = ver
        for k, v in (headers or {}).items():
            extra["HTTP_" + k.upper().replace("-", "_")] = v
        from urllib.parse import urlencode
        url = BASE + path + (("?" + urlencode(query, doseq=True)) if query else "")
        data = json.dumps(body) if body is not None else ""
        return self.client.generic(method, url, data, content_type="application/json", **extra)


@pytest.fixture
def ghl(client, sbx):
    return Ghl(client, sbx[1].token)
