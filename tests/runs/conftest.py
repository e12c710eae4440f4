"""Fixtures for run history tests: HTTP steps answered by a fake (no network, no safehttp), a clean
cache (alert throttles, dashboard) and helpers to make finished runs."""
import pytest
from django.core.cache import cache

from automations import engine
from automations.engine import execute_run, start_run
from automations.models import Connection
from connectors import errors
from connectors.context import Result

SECRET = "sk_live_THE-REAL-SECRET-42"


class FakeHTTP:
    """Stands in for http.request: records calls; URLs in `fail` answer a non-retryable 500."""

    def __init__(self, real):
        self.real, self.calls, self.fail = real, [], set()

    def __call__(self, op, ctx):
        if op.key != "http.request":
            return self.real(op, ctx)
        url = ctx.inputs.get("url")
        self.calls.append(url)
        request = {"method": "POST", "url": url, "headers": {"Authorization": f"Bearer {SECRET}"}, "body": ctx.inputs.get("body")}
        if url in self.fail:
            raise errors.StepError(errors.UPSTREAM, f"POST {url} answered HTTP 500", retryable=False, request=request,
                                   response={"status": 500, "body": {"error": "boom"}})
        return Result(output={"status": 200, "body": {"id": "c1", "echo": ctx.inputs.get("body")}}, request=request,
                      response={"status": 200, "body": {"id": "c1"}})


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def http(monkeypatch):
    fake = FakeHTTP(engine.dispatch)
    monkeypatch.setattr(engine, "dispatch", fake)
    return fake


def http_step(sid, url=None):
    return {"id": sid, "key": sid, "name": f"Call {sid}", "operation": "http.request",
            "inputs": {"method": "POST", "url": url or f"https://crm.example/{sid}", "body": {"email": "{{ trigger.email }}"}}}


@pytest.fixture
def three_steps(make_flow):
    return make_flow([http_step("a"), http_step("b"), http_step("c")], name="Three calls")


@pytest.fixture
def secret_connection(ws):
    c = Connection(workspace=ws, app="http", name="CRM key")
    c.set_secrets({"api_key": SECRET})
    c.save()
    return c


def run_now(flow, payload=None):
    run = start_run(flow, payload if payload is not None else {"email": "jane@example.com", "first_name": "Jane"})
    execute_run(run.pk)
    run.refresh_from_db()
    return run
