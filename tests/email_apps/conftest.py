"""Fixtures: the email sandboxes on a real loopback HTTP server (`live_server`, with the test
URLconf), Flowline connections pointing at them, and `call()` running an operation through the
real executor exactly as the engine does."""
import pytest
from django.core.cache import cache

from automations.models import Connection
from connectors import registry
from connectors.context import StepContext
from connectors.sandbox.email.base import create_account

MODULE = "connectors.email_apps"


@pytest.fixture(autouse=True)
def _email_apps_registered(settings):
    """Make sure the registry holds the email apps (they may not be in settings yet)."""
    if MODULE not in settings.FLOWLINE_APP_MODULES:
        settings.FLOWLINE_APP_MODULES = list(settings.FLOWLINE_APP_MODULES) + [MODULE]
    if "mailersend" not in registry._apps:
        registry._apps.clear()
        registry._ops.clear()
    cache.clear()
    settings.SSRF_ALLOW_LOOPBACK = True
    settings.MAILERSEND_WEBHOOK_TEST_SECRET = "sandbox-mailersend-webhook-test-secret"


@pytest.fixture
def server(live_server, settings):
    settings.ROOT_URLCONF = "tests.email_apps.urls"
    from django.urls import clear_url_caches

    clear_url_caches()
    yield live_server
    clear_url_caches()


class Sandbox:
    def __init__(self, server, ws):
        self.server, self.ws = server, ws

    def connect(self, app, name="Sandbox", **config):
        account, creds = create_account(app)
        kind = "client_credentials" if app == "sendpulse" else "api_key"
        conn = Connection(workspace=self.ws, app=app, name=name, auth_kind=kind,
                          config={"base_url": f"{self.server.url}/sandbox/{app}", "sandbox": True, **config})
        conn.set_secrets(creds)
        conn.save()
        return conn, account


@pytest.fixture
def sandbox(server, ws):
    return Sandbox(server, ws)


def call(key, conn, **inputs):
    from automations.engine import dispatch

    return dispatch(registry.get_operation(key), StepContext(inputs=inputs, credentials=conn, idempotency_key="k1"))
