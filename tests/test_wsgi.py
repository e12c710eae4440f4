"""automations/wsgi.py: webhooks take the short middleware chain, pages the full one."""
import io
import json

import pytest

from automations.models import Run, WebhookDelivery
from automations.wsgi import HOOK_MIDDLEWARE, application

pytestmark = pytest.mark.django_db(transaction=True)


def call(method, path, body=b"", content_type="application/json", **extra):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "testserver",
               "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "testserver", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": content_type, **extra}
    started = {}
    chunks = application(environ, lambda status, headers: started.update(status=status, headers=dict(headers)))
    try:
        content = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return started["status"], started["headers"], content


def test_a_webhook_is_stored_through_the_short_chain(make_flow, settings):
    settings.FLOWLINE_WEBHOOK_RATE = 0
    flow = make_flow([{"id": "f", "operation": "flow.formatter", "inputs": {"value": "{{ trigger.email }}", "transform": "lower"}}])
    status, headers, content = call("POST", f"/hooks/{flow.webhook_token}", json.dumps({"email": "A@B.co"}).encode(),
                                    HTTP_X_REQUEST_ID="req-42")
    answer = json.loads(content)
    assert status.startswith("200") and answer["status"] == "accepted"
    assert Run.objects.get(pk=answer["run_id"]).trigger_payload == {"email": "A@B.co"}
    assert WebhookDelivery.objects.get(run_id=answer["run_id"]).flow_id == flow.pk
    assert headers["X-Request-Id"] == "req-42"  # request id middleware: kept
    assert "X-Frame-Options" not in headers and "Set-Cookie" not in headers  # page middleware: not run


def test_an_unknown_host_is_refused_on_hooks_too(settings):
    settings.ALLOWED_HOSTS = ["flowline.example"]
    status, _, _ = call("POST", "/hooks/nope", b"{}")
    assert status.startswith("400")


def test_pages_keep_the_full_chain():
    status, headers, _ = call("GET", "/login/", content_type="")
    assert status.startswith("200")
    assert headers["X-Frame-Options"] == "DENY" and "csrftoken" in headers.get("Set-Cookie", "")


def test_the_short_chain_is_a_subset_of_the_settings(settings):
    assert set(HOOK_MIDDLEWARE) <= set(settings.MIDDLEWARE)
