import threading
from contextlib import contextmanager

import pytest


class FakeCredentials:
    """An in-memory connection implementing connectors.context.Credentials."""

    def __init__(self, auth_kind="api_key", secrets=None, config=None, id=1):
        self.id, self.app, self.auth_kind = id, "gohighlevel", auth_kind
        self.config = {"location_id": "loc1", "company_id": "comp1", **(config or {})}
        self._secrets = dict(secrets or {"api_key": "pit-123"})
        self._lock = threading.Lock()
        self.reauth = None

    def secrets(self):
        return dict(self._secrets)

    def update_secrets(self, values):
        self._secrets.update(values)

    @contextmanager
    def refresh_lock(self):
        with self._lock:
            yield self

    def mark_needs_reauth(self, message):
        self.reauth = message


@pytest.fixture
def creds():
    return FakeCredentials


@pytest.fixture(autouse=True)
def memory_limiter():
    from connectors import ratelimit

    ratelimit.set_limiter(ratelimit.Limiter(ratelimit.MemoryStore()))
    yield
    ratelimit.set_limiter(None)
