"""Template helpers for run history: redacted, size-capped JSON (the download has everything)."""
import json

from django import template

from ..models import Connection
from ..redaction import redact, secret_values

register = template.Library()
PAGE_CHARS = 20000


def workspace_secrets(workspace_id) -> list[str]:
    """Every secret of the workspace's connections: values to mask wherever they appear."""
    return secret_values(c.secret_values() for c in Connection.objects.in_workspace(workspace_id))


def redacted(value, workspace_id=None, secrets=None):
    if secrets is None:
        secrets = workspace_secrets(workspace_id) if workspace_id else []
    return redact(value, secrets)


@register.simple_tag
def redacted_json(value, workspace_id=None):
    """{% redacted_json run.trigger_payload run.workspace_id as p %}: p.text (cut at PAGE_CHARS),
    p.truncated, p.chars."""
    text = json.dumps(redacted(value, workspace_id), indent=2, ensure_ascii=False, default=str)
    return {"text": text[:PAGE_CHARS], "truncated": len(text) > PAGE_CHARS, "chars": len(text)}


@register.filter
def ms(value):
    """A duration in milliseconds, readable: 850 ms, 3.2 s, 4 min 5 s; "—" when unknown."""
    if value is None or value == "":
        return "—"
    value = int(value)
    if value < 1000:
        return f"{value} ms"
    if value < 60_000:
        return f"{value / 1000:.1f} s"
    minutes, seconds = divmod(value // 1000, 60)
    return f"{minutes} min {seconds} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
