"""The email sandboxes: include at the sandbox root, e.g. in connectors/sandbox/urls.py
``path("", include("connectors.sandbox.email.urls"))`` -> /sandbox/mailersend/email, ..."""
from django.urls import re_path

from .base import APPS, view

urlpatterns = [re_path(rf"^{app}/(?P<path>.*)$", view(app), name=f"sandbox_{app}") for app in APPS]
