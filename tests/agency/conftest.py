"""Agency fixtures: two agencies, each with client workspaces, and the cast

    ann  agency owner of A        max  agency member of A
    ed   client editor of A1      vic  client viewer of A1
    zed  agency owner of B (the other tenant)

plus a template of agency A ("Lead tagging") with a connection slot and a variable.
Every name of agency B is unmistakable ("Zeta…") so the isolation sweep can look for leaks."""

import pytest

from automations import agency as A
from automations.flows import publish
from automations.models import (Agency, AgencyMembership, Connection, Flow, FlowTemplate, Membership, Run, Workspace)

DEFINITION = {
    "trigger": {"operation": "webhook.catch_hook", "inputs": {}},
    "steps": [
        {"id": "s1", "key": "email", "name": "Clean email", "operation": "flow.formatter",
         "connection": {"$slot": "crm"}, "inputs": {"value": "{{ trigger.email }}", "transform": "lower"}},
        {"id": "s2", "key": "tag", "name": "Tag", "operation": "flow.formatter",
         "inputs": {"value": "{{ vars.tag_name }}:{{ trigger.first_name }}", "transform": "trim"}},
    ],
}
INPUTS = {"connections": {"crm": {"app": "http", "label": "CRM account"}},
          "variables": {"tag_name": {"label": "Tag", "type": "text", "loader": "", "default": ""}}}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(django_user_model, name):
    return django_user_model.objects.create_user(username=name, password="pw-" + name, email=f"{name}@example.com")


class Tenant:
    """One agency with its clients and objects, built the same way for A and B."""

    def __init__(self, label, prefix, owner):
        self.agency = Agency.objects.create(name=f"{prefix} Agency")
        AgencyMembership.objects.create(user=owner, agency=self.agency, role=AgencyMembership.OWNER)
        self.clients = [Workspace.objects.create(agency=self.agency, name=f"{prefix} Client {i}", slug=f"{label}{i}")
                        for i in (1, 2)]
        self.ws = self.clients[0]
        self.conn = Connection.objects.create(workspace=self.ws, app="http", name=f"{prefix} CRM key")
        self.conn.set_secrets({"api_key": f"{prefix.lower()}-secret-token-123456"})
        self.conn.save()
        self.flow = Flow.objects.create(workspace=self.ws, name=f"{prefix} Lead flow", draft=DEFINITION_PLAIN(self.conn.pk))
        publish(self.flow)
        self.run = Run.objects.create(workspace=self.ws, flow=self.flow, version=self.flow.published,
                                      status=Run.FAILED, trigger_payload={"email": f"{prefix.lower()}.lead@example.com"},
                                      summary=f"{prefix} lead summary")
        self.template = FlowTemplate.objects.create(agency=self.agency, name=f"{prefix} Template")
        self.version = A.add_version(self.template, DEFINITION, INPUTS, note="v1")
        self.clone = A.clone(self.version, self.clients[1], self._bind(self.clients[1])).flow.template_clone

    def _bind(self, ws):
        conn = Connection.objects.create(workspace=ws, app="http", name=f"{ws.name} CRM")
        return {"connections": {"crm": conn.pk}, "variables": {"tag_name": "vip"}}


def DEFINITION_PLAIN(conn_id):
    return {"trigger": {"operation": "webhook.catch_hook", "inputs": {}},
            "steps": [{"id": "s1", "key": "email", "name": "Clean email", "operation": "flow.formatter",
                       "connection": conn_id, "inputs": {"value": "{{ trigger.email }}", "transform": "lower"}}]}


@pytest.fixture
def cast(db, django_user_model):
    """Both tenants and the five users; returns a namespace."""
    users = {n: make_user(django_user_model, n) for n in ("ann", "max", "ed", "vic", "zed")}
    a = Tenant("a", "Alpha", users["ann"])
    b = Tenant("zeta", "Zeta", users["zed"])
    AgencyMembership.objects.create(user=users["max"], agency=a.agency, role=AgencyMembership.MEMBER)
    Membership.objects.create(user=users["ed"], workspace=a.ws, role=Membership.EDITOR)
    Membership.objects.create(user=users["vic"], workspace=a.ws, role=Membership.VIEWER)

    class Cast:
        pass

    c = Cast()
    c.a, c.b, c.users = a, b, users
    for n, u in users.items():
        setattr(c, n, u)
    return c


def login(client, user):
    client.force_login(user)
    return client
