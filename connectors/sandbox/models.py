"""Sandbox state: a few generic tables. Every GoHighLevel resource (contact, task, opportunity,
calendar...) is a `SandboxRecord` JSON document of some `kind`, scoped to a `SandboxLocation`."""
import secrets
import string

from django.db import models

_ALPHABET = string.ascii_letters + string.digits


def ghl_id() -> str:
    """A GoHighLevel-looking id: 20 alphanumeric characters, e.g. ``ve9EPM428h8vShlRW1KT``."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(20))


class SandboxLocation(models.Model):
    """A sandbox sub-account (GHL "location"), belonging to an agency (``company_id``)."""

    id = models.CharField(primary_key=True, max_length=20, default=ghl_id)
    name = models.CharField(max_length=200)
    company_id = models.CharField(max_length=20, default=ghl_id)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created"]

    def __str__(self):
        return f"{self.name} ({self.id})"


class SandboxToken(models.Model):
    """A bearer token (like a Private Integration Token) for one location, with its scopes.
    ``user_type`` is "Location" (sub-account token) or "Company" (agency token)."""

    LOCATION, COMPANY = "Location", "Company"
    token = models.CharField(max_length=80, unique=True)
    location = models.ForeignKey(SandboxLocation, on_delete=models.CASCADE, related_name="tokens")
    scopes = models.JSONField(default=list)
    user_type = models.CharField(max_length=10, default=LOCATION)
    label = models.CharField(max_length=100, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.user_type} token for {self.location_id}"


class SandboxRecord(models.Model):
    """One resource document. ``parent_id`` links children (a task's contact, a message's
    conversation, a notification's calendar...)."""

    location = models.ForeignKey(SandboxLocation, on_delete=models.CASCADE, related_name="records")
    kind = models.CharField(max_length=40)
    record_id = models.CharField(max_length=40, default=ghl_id)
    parent_id = models.CharField(max_length=40, blank=True, default="")
    data = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created", "id"]
        constraints = [models.UniqueConstraint(fields=["location", "kind", "record_id"], name="sandbox_record_uniq")]
        indexes = [models.Index(fields=["location", "kind", "parent_id"])]


class SandboxRequest(models.Model):
    """What the sandbox API received, for the UI ("what did my dry run do?")."""

    location = models.ForeignKey(SandboxLocation, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="requests")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField(default=0)
    brief = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]


class SandboxSubscription(models.Model):
    """A webhook URL that receives this location's events (``events`` empty = all events)."""

    location = models.ForeignKey(SandboxLocation, on_delete=models.CASCADE, related_name="subscriptions")
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    def wants(self, event_type: str) -> bool:
        return self.active and (not self.events or event_type in self.events)


class SandboxEvent(models.Model):
    """An emitted webhook event and its delivery outcome (one row per subscription, or one
    undelivered row when nobody subscribed)."""

    location = models.ForeignKey(SandboxLocation, on_delete=models.CASCADE, related_name="events")
    event_type = models.CharField(max_length=60)
    webhook_id = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    url = models.CharField(max_length=500, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]


class SandboxKey(models.Model):
    """The sandbox's webhook signing keys (PKCS8 PEM), generated once per install."""

    name = models.CharField(max_length=20, unique=True)  # "ed25519" | "rsa"
    private_pem = models.TextField()
    public_pem = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
