"""Demo data for `make run`: a user, a client workspace and flows that really run offline."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from .flows import publish
from .models import Flow, Membership, Workspace
from .triggers import sync_state

USERNAME, PASSWORD = "demo", "flowline-demo"


def webhook_to_crm(base_url: str) -> dict:
    return {
        "trigger": {"operation": "webhook.catch_hook", "inputs": {}},
        "steps": [
            {"id": "s1", "key": "name", "name": "Split the full name", "operation": "flow.formatter",
             "inputs": {"value": "{{ trigger.name }}", "transform": "first_name"}},
            {"id": "s2", "key": "crm", "name": "Send the lead to the CRM", "operation": "http.request",
             "inputs": {"method": "POST", "url": f"{base_url}/sandbox/echo", "body_type": "json",
                        "body": {"firstName": "{{ steps.name.value }}",
                                 "lastName": "{{ trigger.name | last_name }}",
                                 "email": "{{ trigger.email | email }}",
                                 "phone": "{{ trigger.phone | phone }}",
                                 "source": "Flowline demo"}}},
        ],
    }


def lead_to_gohighlevel(base_url: str, connection_id: int) -> dict:
    """Webhook in -> create contact -> add tag -> create follow-up task, against the GHL sandbox."""
    return {
        "trigger": {"operation": "webhook.catch_hook", "inputs": {}},
        "steps": [
            {"id": "s1", "key": "contact", "name": "Create the contact", "operation": "gohighlevel.upsert_contact",
             "connection": connection_id,
             "inputs": {"firstName": "{{ trigger.name | first_name }}", "lastName": "{{ trigger.name | last_name }}",
                        "email": "{{ trigger.email | email }}", "phone": "{{ trigger.phone | phone }}",
                        "source": "Flowline webhook"}},
            {"id": "s2", "key": "tag", "name": "Tag as new lead", "operation": "gohighlevel.add_tags_to_contact",
             "connection": connection_id, "inputs": {"contactId": "{{ steps.contact.contact.id }}", "tags": ["new lead"]}},
            {"id": "s3", "key": "task", "name": "Follow up tomorrow", "operation": "gohighlevel.create_contact_task",
             "connection": connection_id,
             "inputs": {"contactId": "{{ steps.contact.contact.id }}", "title": "Call {{ trigger.name | first_name }}",
                        "body": "New lead from the website form.", "completed": False,
                        "dueDate": "{{ 'now' | add_days(1) }}"}},
        ],
    }


DEMO_FLOWS = [
    ("New lead webhook → CRM", "Maps an incoming lead and posts it to a CRM (the local echo service).", webhook_to_crm),
    ("Website lead → GoHighLevel contact, tag and task",
     "Creates the contact in the GoHighLevel sandbox, tags it and schedules a follow-up task.", lead_to_gohighlevel),
]


def ensure_sandbox_connection(ws, base_url: str):
    """A GoHighLevel connection to the local sandbox's demo location (created on first use)."""
    from connectors.sandbox.models import SandboxLocation
    from connectors.sandbox.store import create_location, token_for

    from .models import Connection

    location = SandboxLocation.objects.order_by("pk").first()
    if location is None:
        location, _ = create_location("Brightside Marketing")
    token = token_for(location)
    conn = Connection.objects.filter(workspace=ws, app="gohighlevel", config__sandbox=True).first()
    if conn is None:
        conn = Connection(workspace=ws, app="gohighlevel", name="GoHighLevel sandbox (Brightside Marketing)",
                          auth_kind="api_key")
    conn.config = {"sandbox": True, "base_url": f"{base_url}/sandbox/gohighlevel", "location_id": location.pk}
    conn.set_secrets({"api_key": token.token})
    conn.status = Connection.OK
    conn.save()
    return conn


@transaction.atomic
def ensure_demo(base_url: str) -> dict:
    User = get_user_model()
    user, created = User.objects.get_or_create(username=USERNAME, defaults={"email": "demo@flowline.local", "is_staff": True, "is_superuser": True})
    if created:
        user.set_password(PASSWORD)
        user.save()
    ws, _ = Workspace.objects.get_or_create(slug="demo", defaults={"name": "Brightside Marketing (demo)"})
    Membership.objects.get_or_create(user=user, workspace=ws, defaults={"role": Membership.OWNER})
    conn = ensure_sandbox_connection(ws, base_url)
    count = 0
    for name, description, build in DEMO_FLOWS:
        flow = Flow.objects.filter(workspace=ws, name=name).first()
        definition = build(base_url) if build is webhook_to_crm else build(base_url, conn.pk)
        if flow is None:
            flow = Flow.objects.create(workspace=ws, name=name, description=description, draft=definition,
                                       created_by=user, tags="demo", enabled=True)
            publish(flow, user, note="Demo")
        elif flow.draft != definition:
            flow.draft = definition
            flow.save(update_fields=["draft"])
            publish(flow, user, note="Demo update")
        sync_state(flow)
        count += 1
    return {"workspace": ws.name, "flows": count, "username": USERNAME, "password": PASSWORD}
