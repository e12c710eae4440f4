import json

from django import template

register = template.Library()
MAX_CHARS = 20000


@register.filter
def pretty_json(value):
    """Indented JSON for the run page, truncated for huge payloads (the download has all of it)."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if len(text) > MAX_CHARS:
        return text[:MAX_CHARS] + f"\n… truncated ({len(text):,} characters in all)"
    return text
