"""CSRF (reliability.md F8): every route of the URLconf, POSTed by a logged-in owner without a token,
answers 403. Only webhook receivers (and the local sandboxes standing in for third-party APIs) are
exempt, and the exempt list is pinned so a new exempt route is a conscious decision."""
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

# Exempt on purpose: they authenticate by secret URL or signature, or are fake third-party APIs.
EXEMPT_PREFIXES = ("hooks/", "sandbox/", "webhooks/", "ghl/webhook", "w/<slug:slug>/hooks/")
CONVERTERS = {"slug": "acme", "int": "1", "str": "x", "path": "x/y", "uuid": "00000000-0000-0000-0000-000000000000"}


def _patterns(resolver=None, prefix=""):
    for p in (resolver or get_resolver()).url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _patterns(p, route)
        elif isinstance(p, URLPattern):
            yield route, p.callback


def _url(route: str) -> str | None:
    if route.startswith("^") or "(?P" in route:
        route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route).strip("^$").replace("\\", "")
    url = re.sub(r"<(?:(\w+):)?\w+>", lambda m: CONVERTERS.get(m.group(1) or "str", "x"), route)
    return "/" + url


def _exempt(route, view) -> bool:
    return getattr(view, "csrf_exempt", False)


@pytest.mark.django_db
def test_every_state_changing_route_needs_a_csrf_token(ws, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    checked, exempt = [], []
    for route, view in _patterns():
        if route.startswith(("static/", "media/")):
            continue
        if _exempt(route, view):
            exempt.append(route)
            continue
        url = _url(route)
        response = client.post(url, {"name": "x", "value": "y"})
        checked.append(route)
        assert response.status_code == 403, f"POST {url} ({route}) answered {response.status_code} without a CSRF token"
    assert len(checked) > 30
    unexpected = [r for r in exempt if not r.startswith(EXEMPT_PREFIXES) and "webhook" not in r and "hooks" not in r]
    assert not unexpected, f"CSRF-exempt routes that are not webhooks: {unexpected}"


@pytest.mark.django_db
def test_htmx_post_without_token_is_403_and_with_token_passes(ws, alice, make_flow):
    flow = make_flow([{"id": "s1", "operation": "flow.formatter", "inputs": {"value": "x", "transform": "upper"}}])
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    url = f"/w/{ws.slug}/flows/{flow.pk}/toggle"
    assert client.post(url, HTTP_HX_REQUEST="true").status_code == 403
    client.get(f"/w/{ws.slug}/flows/{flow.pk}/")
    token = client.cookies["csrftoken"].value
    assert client.post(url, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token).status_code != 403


@pytest.mark.django_db
def test_login_and_logout_need_a_token(alice):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/login/", {"username": "alice", "password": "pw-alice"}).status_code == 403
    client.force_login(alice)
    assert client.post("/logout/").status_code == 403


@pytest.mark.django_db
def test_webhooks_accept_without_csrf(ws, make_flow):
    flow = make_flow([{"id": "s1", "operation": "flow.formatter", "inputs": {"value": "x", "transform": "upper"}}])
    client = Client(enforce_csrf_checks=True)
    assert client.post(f"/hooks/{flow.webhook_token}", {"a": "1"}, content_type="application/json").status_code == 200
