"""Builder fixtures: a flow with a tested trigger (webhook -> filter -> formatter), and htmx helpers."""

import pytest

from automations.models import Flow

PAYLOAD = {"email": "Jane@Example.com", "first_name": "Jane", "tags": ["lead", "vip"], "contact": {"id": "c_1"}}


@pytest.fixture
def flow(ws, alice):
    return Flow.objects.create(
        workspace=ws, name="Lead intake", tags="leads, crm", created_by=alice,
        draft={"trigger": {"operation": "webhook.catch_hook", "inputs": {}},
               "steps": [
                   {"id": "s1", "key": "only_leads", "name": "Only leads", "operation": "flow.filter", "connection": None,
                    "inputs": {"conditions": {"any": [{"all": [{"left": "{{ trigger.tags }}", "op": "contains", "right": "lead"}]}]}},
                    "disabled": False},
                   {"id": "s2", "key": "lower_email", "name": "Lower email", "operation": "flow.formatter", "connection": None,
                    "inputs": {"value": "{{ trigger.email }}", "transform": "lower"}, "disabled": False},
               ]},
        sample_data={"trigger": PAYLOAD, "steps": {}},
    )


@pytest.fixture
def url(ws, flow):
    base = f"/w/{ws.slug}/flows/{flow.pk}/"
    return lambda tail="": base + tail


def hx(client, method, path, data=None, target=None, **extra):
    headers = {"HTTP_HX_REQUEST": "true", **({"HTTP_HX_TARGET": target} if target else {}), **extra}
    return getattr(client, method)(path, data or {}, **headers)
