"""A one-line summary of a trigger payload for the runs list ("Jane Doe <jane@example.com>")."""
from __future__ import annotations

NAME_KEYS = ("name", "fullName", "full_name", "contactName", "contact_name", "title", "subject")
FIRST_KEYS = ("firstName", "first_name", "firstname")
LAST_KEYS = ("lastName", "last_name", "lastname")
EMAIL_KEYS = ("email", "Email", "emailAddress", "email_address")


def _find(data, keys, depth=0):
    if depth > 3:
        return None
    if isinstance(data, dict):
        for k in keys:
            v = data.get(k)
            if isinstance(v, (str, int, float)) and str(v).strip():
                return str(v).strip()
        for v in data.values():
            if isinstance(v, dict):
                found = _find(v, keys, depth + 1)
                if found:
                    return found
    return None


def summarize(payload) -> str:
    if not isinstance(payload, dict):
        return str(payload)[:120] if payload not in (None, "") else ""
    first, last = _find(payload, FIRST_KEYS), _find(payload, LAST_KEYS)
    name = " ".join(x for x in (first, last) if x) or _find(payload, NAME_KEYS)
    email = _find(payload, EMAIL_KEYS)
    if name and email:
        return f"{name} <{email}>"[:300]
    if name or email:
        return (name or email)[:300]
    keys = ", ".join(list(payload)[:4])
    return f"{{{keys}}}"[:300] if keys else ""
