"""Named pre/post transforms of single operations (`extra["pre"]`, `extra["post"]`), each a pure
function unit-tested on its own. A pre takes and returns the inputs; a post takes and returns the
executor's `Result`."""
from __future__ import annotations

import dataclasses

from .. import errors
from .common import b64, emails_list, unix_window


def _drop(inputs: dict, *names) -> dict:
    return {k: v for k, v in inputs.items() if k not in names and v not in (None, "", [], {})}


def _people(value) -> list:
    """`a@b.c`, `"a@b.c, d@e.f"`, `[{"email", "name"}]` -> `[{"email", "name"?}]`."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value
    return [{"email": e} for e in emails_list(value)]


# --- MailerSend -----------------------------------------------------------------------------------

def mailersend_email(i: dict, ctx=None) -> dict:
    """Friendly fields -> the documented `/email` body: to[], from{}, reply_to{}, personalization[]."""
    to = [{"email": i["to_email"], **({"name": i["to_name"]} if i.get("to_name") else {})}] if i.get("to_email") else []
    out = _drop(i, "to_email", "to_name", "from_email", "from_name", "variables", "reply_to", "cc", "bcc")
    out["to"] = i.get("to") or to
    if i.get("from_email"):
        out["from"] = {"email": i["from_email"], **({"name": i["from_name"]} if i.get("from_name") else {})}
    if i.get("reply_to"):
        out["reply_to"] = {"email": i["reply_to"]}
    for key in ("cc", "bcc"):
        if i.get(key):
            out[key] = _people(i[key])
    if i.get("variables"):
        out["personalization"] = [{"email": r["email"], "data": i["variables"]} for r in out["to"]]
    if not (out.get("template_id") or out.get("html") or out.get("text")):
        raise errors.StepError(errors.VALIDATION, "Give an HTML body, a text body or a template.", retryable=False)
    return out


def mailersend_sent(result, ctx=None):
    """202 with an empty body: the message id is in the `x-message-id` header [C]."""
    resp = result.response or {}
    headers = {str(k).lower(): v for k, v in (resp.get("headers") or {}).items()}
    body = resp.get("body") if isinstance(resp.get("body"), dict) else {}
    output = {"message_id": headers.get("x-message-id"), "status": resp.get("status"),
              "send_paused": headers.get("x-send-paused") == "true", "warnings": body.get("warnings") or []}
    return dataclasses.replace(result, output=output)


def mailersend_activity_window(i: dict, ctx=None) -> dict:
    """`date_from`/`date_to` default to the last 24 hours (the API allows at most 7 days)."""
    start, end = unix_window(1)
    return {**i, "date_from": int(i.get("date_from") or start), "date_to": int(i.get("date_to") or end)}


def split_recipients(i: dict, ctx=None) -> dict:
    return {**i, "recipients": emails_list(i.get("recipients"))}


def mailersend_store_secret(result, ctx=None):
    """Keep the new webhook's signing secret on the connection (`webhook_secrets[id]`), where the
    inbound verifier looks for it; the step output shows only the id."""
    data = (result.output or {}).get("data") if isinstance(result.output, dict) else None
    if isinstance(data, dict) and data.get("secret") and ctx is not None and ctx.credentials is not None:
        known = dict(ctx.credentials.secrets().get("webhook_secrets") or {})
        known[str(data["id"])] = data["secret"]
        ctx.credentials.update_secrets({"webhook_secrets": known})
        shown = {**data, "secret": "stored on the connection"}
        return dataclasses.replace(result, output={**result.output, "data": shown})
    return result


# --- SendPulse ------------------------------------------------------------------------------------

def sendpulse_emails(i: dict, ctx=None) -> dict:
    """One `email` + `variables`, or `emails` -> `{"emails": [{"email", "variables"}]}` (real JSON,
    not the legacy double-encoded string)."""
    emails = i.get("emails") or []
    if isinstance(emails, str):
        emails = [{"email": e} for e in emails_list(emails)]
    if i.get("email"):
        emails = [{"email": i["email"], "variables": i.get("variables") or {}}] + list(emails)
    if not emails:
        raise errors.StepError(errors.VALIDATION, "Give an email (or a list of emails).", retryable=False)
    return {**_drop(i, "email", "variables"), "emails": emails}


def sendpulse_variables(i: dict, ctx=None) -> dict:
    """`{"city": "Kyiv"}` -> `[{"name": "city", "value": "Kyiv"}]`."""
    v = i.get("variables") or {}
    return {**i, "variables": [{"name": k, "value": val} for k, val in v.items()] if isinstance(v, dict) else v}


def sendpulse_email_list(i: dict, ctx=None) -> dict:
    emails = emails_list(i.get("emails"))
    if len(emails) > 100:
        raise errors.StepError(errors.VALIDATION, "SendPulse deletes at most 100 emails per call.", retryable=False)
    return {**i, "emails": emails}


def sendpulse_b64_emails(i: dict, ctx=None) -> dict:
    """The blacklist takes a base64 string of comma-separated emails, not an array [C]."""
    return {**i, "emails": b64(",".join(emails_list(i.get("emails"))))}


def sendpulse_smtp(i: dict, ctx=None) -> dict:
    """Friendly fields -> `{"email": {subject, html (base64), text, from, to[], template?}}`."""
    email = {"subject": i.get("subject"), "from": {"name": i.get("from_name") or "", "email": i.get("from_email")},
             "to": [{"email": i.get("to_email"), **({"name": i["to_name"]} if i.get("to_name") else {})}]}
    if i.get("template_id"):
        email["template"] = {"id": i["template_id"], "variables": i.get("variables") or {}}
    else:
        if not (i.get("html") or i.get("text")):
            raise errors.StepError(errors.VALIDATION, "Give an HTML or text body, or a template.", retryable=False)
        if i.get("html"):
            email["html"] = b64(i["html"])
        if i.get("text"):
            email["text"] = i["text"]
    return {"email": email}
