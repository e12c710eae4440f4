"""Shared state of the connectors layer (the rate-limit buckets, see ratelimit.py)."""
from django.db import models


class RateBucket(models.Model):
    """One (app, account) request budget; `state` is the sliding log, daily count and blocks."""

    key = models.CharField(max_length=200, unique=True)
    state = models.JSONField(default=dict, blank=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.key
