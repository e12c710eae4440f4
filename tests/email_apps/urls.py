"""Test URLconf kept for the email-app tests: Flowline's own URLs (the email sandboxes are served
under /sandbox/ and their webhooks reach /hooks/<token> like every other webhook)."""
from automations.urls import urlpatterns  # noqa: F401
