"""Trigger URLs: GoHighLevel instant webhooks and the flow page's trigger panel."""
from django.urls import path

from . import ghl_webhooks
from .views import triggers

urlpatterns = [
    path("hooks/ghl/app", ghl_webhooks.app_hook, name="ghl_app_hook"),
    path("hooks/ghl/<str:token>", ghl_webhooks.flow_hook, name="ghl_flow_hook"),
    path("w/<slug:slug>/flows/<int:flow_id>/trigger/", triggers.trigger_panel, name="trigger_panel"),
    path("w/<slug:slug>/flows/<int:flow_id>/trigger/test", triggers.test_trigger, name="test_trigger"),
    path("w/<slug:slug>/flows/<int:flow_id>/trigger/start-from", triggers.start_from, name="trigger_start_from"),
    path("w/<slug:slug>/flows/<int:flow_id>/trigger/held/<int:batch_id>/<str:action>", triggers.decide_batch,
         name="held_batch"),
]
