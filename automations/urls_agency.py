"""URLs of agencies (issue 9): dashboard, clients, templates, clone wizard, update clones, and flow
JSON import/export; included from automations/urls.py."""
from django.urls import path

from .views import agency as v
from .views import members

A = "a/<int:agency_id>/"
T = A + "templates/<int:template_id>/"

urlpatterns = [
    path(A, v.dashboard, name="agency_dashboard"),
    path(A + "clients/", v.clients, name="agency_clients"),
    path(A + "clients/create", v.create_clients, name="agency_clients_create"),
    path(A + "members/", members.members, name="agency_members"),
    path(A + "templates/", v.templates, name="agency_templates"),
    path(A + "templates/import", v.template_import, name="agency_template_import"),
    path(T, v.template_detail, name="agency_template"),
    path(T + "export.json", v.template_export, name="agency_template_export"),
    path(T + "clone", v.clone_wizard, name="agency_clone"),
    path(T + "update", v.update_clones, name="agency_update"),
    path("w/<slug:slug>/flows/<int:flow_id>/save-as-template", v.save_as_template, name="flow_save_template"),
    path("w/<slug:slug>/flows/<int:flow_id>/export.json", v.flow_export, name="flow_export"),
    path("w/<slug:slug>/flows/import", v.flow_import, name="flow_import"),
]
