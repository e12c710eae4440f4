"""Agency demo data: call `ensure_agency_demo(user)` after `demo.ensure_demo` (e.g. in seed_demo).

The user becomes owner of "Brightside Agency (demo)" with three client workspaces (each with an
HTTP connection) and a template, "Tag new leads", cloned into the first client. Idempotent.
"""
from __future__ import annotations

from django.db import transaction

from . import agency as A
from .models import AgencyMembership, Agency, Connection, FlowTemplate, TemplateClone, Workspace

AGENCY = "Brightside Agency (demo)"
CLIENTS = [("demo-dental", "Smile Dental (demo)"), ("demo-roofing", "Peak Roofing (demo)"), ("demo-gym", "Ironworks Gym (demo)")]

TEMPLATE_DEFINITION = {
    "trigger": {"operation": "webhook.catch_hook", "inputs": {}},
    "steps": [
        {"id": "s1", "key": "email", "name": "Clean the email", "operation": "flow.formatter",
         "connection": {"$slot": "crm"}, "inputs": {"value": "{{ trigger.email }}", "transform": "lower"}},
        {"id": "s2", "key": "tag", "name": "Tag for the client", "operation": "flow.formatter",
         "inputs": {"value": "{{ vars.tag_name }} {{ trigger.first_name }}", "transform": "trim"}},
    ],
}
TEMPLATE_INPUTS = {"connections": {"crm": {"app": "http", "label": "CRM account"}},
                   "variables": {"tag_name": {"label": "Tag", "type": "text", "loader": "", "default": "new-lead"}}}


@transaction.atomic
def ensure_agency_demo(user) -> dict:
    agency, _ = Agency.objects.get_or_create(name=AGENCY)
    AgencyMembership.objects.get_or_create(user=user, agency=agency, defaults={"role": AgencyMembership.OWNER})
    clients = []
    for slug, name in CLIENTS:
        ws, _ = Workspace.objects.get_or_create(slug=slug, defaults={"name": name, "agency": agency})
        Connection.objects.get_or_create(workspace=ws, app="http", name=f"{name} CRM")
        clients.append(ws)
    template = FlowTemplate.objects.filter(agency=agency, name="Tag new leads").first()
    if template is None:
        template = FlowTemplate.objects.create(agency=agency, name="Tag new leads", created_by=user,
                                               description="Cleans a new lead's email and tags it per client.")
        A.add_version(template, TEMPLATE_DEFINITION, TEMPLATE_INPUTS, note="Demo")
    first = clients[0]
    if not TemplateClone.objects.filter(template=template, workspace=first).exists():
        version = template.latest
        A.clone(version, first, A.default_bindings(version, first), user)
    return {"agency": agency.name, "clients": len(clients), "template": template.name}
