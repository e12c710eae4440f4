"""Included at ``sandbox/`` when settings.SANDBOX_ENABLED: the API under ``gohighlevel/`` and the
UI under ``ui/``."""
from django.urls import include, path, re_path

from . import views

app_name = "sandbox"

urlpatterns = [
    re_path(r"^gohighlevel/(?P<path>.*)$", views.api, name="api"),
    path("", include("connectors.sandbox.email.urls")),  # mailersend/, mailerlite/, sendpulse/, mailercloud/
    path("ui/", views.index, name="index"),
    path("ui/new", views.create, name="create"),
    path("ui/<str:location_id>/", views.location_page, name="location"),
    path("ui/<str:location_id>/reset", views.reset_view, name="reset"),
    path("ui/<str:location_id>/simulate", views.simulate_view, name="simulate"),
    path("ui/<str:location_id>/subscriptions", views.subscribe_view, name="subscribe"),
]
