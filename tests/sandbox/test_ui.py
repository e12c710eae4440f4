"""The sandbox pages: see data, reset, simulate events, see received requests."""
import pytest
from django.urls import reverse

from connectors.sandbox import store
from connectors.sandbox.models import SandboxEvent, SandboxSubscription


@pytest.fixture
def user(db, django_user_model):
    return django_user_model.objects.create_user(username="sam", password="pw-sam")


def test_pages_need_login(client, sbx):
    resp = client.get(reverse("sandbox:index"))
    assert resp.status_code == 302 and "login" in resp["Location"]


def test_index_and_location_page(client, user, sbx, ghl):
    client.force_login(user)
    location = sbx[0]
    ghl("GET", "/contacts/", query={"locationId": location.id})
    page = client.get(reverse("sandbox:index"))
    assert page.status_code == 200 and location.name in page.content.decode()
    page = client.get(reverse("sandbox:location", args=[location.id]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Olivia Bennett" in html and "/contacts/" in html and sbx[1].token in html
    assert "Simulate an event" in html and "InboundMessage" in html
    tasks = client.get(reverse("sandbox:location", args=[location.id]) + "?kind=task").content.decode()
    assert "Call back about proposal" in tasks
    part = client.get(reverse("sandbox:location", args=[location.id]) + "?part=requests", HTTP_HX_REQUEST="true")
    assert part.status_code == 200 and "sbx-requests" in part.content.decode() and "<html" not in part.content.decode()


def test_reset_simulate_subscribe_actions(client, user, sbx):
    client.force_login(user)
    location = sbx[0]
    store.records(location, "contact").delete()
    resp = client.post(reverse("sandbox:reset", args=[location.id]))
    assert resp.status_code == 302 and store.records(location, "contact").count() == 36
    client.post(reverse("sandbox:subscribe", args=[location.id]), {"url": "http://127.0.0.1:9/x", "events": ["TaskCreate"]})
    assert SandboxSubscription.objects.get(location=location).events == ["TaskCreate"]
    client.post(reverse("sandbox:simulate", args=[location.id]), {"event_type": "TaskCreate"})
    assert SandboxEvent.objects.filter(location=location, event_type="TaskCreate").exists()
    create = client.post(reverse("sandbox:create"), {"name": "Second Sandbox"})
    assert create.status_code == 302
