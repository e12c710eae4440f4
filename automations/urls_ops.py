"""Operations routes (automations/ops.py): readiness and Prometheus metrics."""
from django.urls import path

from . import ops

urlpatterns = [
    path("health/ready", ops.health_ready, name="health_ready"),
    path("metrics", ops.metrics, name="metrics"),
]
