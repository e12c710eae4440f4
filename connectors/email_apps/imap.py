"""Mailsuite has no public API. What Flowline can do honestly:

1. read Mailsuite's open/click notification emails from the user's mailbox over IMAP and turn each
   into an event ("Jane Doe opened your email 'Proposal'"), deduped by the notification's Message-ID;
2. parse a CSV export of its tracking data (the column layout is unconfirmed, so columns are matched
   by common names and can be mapped explicitly).

The notification wording is unconfirmed too: the patterns are a list a connection can extend
(`config["patterns"]`: regexes with the named groups `who`, `subject` and optionally `link`).
"""
from __future__ import annotations

import csv
import email
import email.policy
import imaplib
import io
import re
from datetime import datetime, timedelta, timezone
from email.utils import getaddresses, parsedate_to_datetime

from .. import errors
from ..context import Result

Q = r"['\"‘’“”]"
PATTERNS = {
    "opened": [rf"^(?P<who>.+?) (?:has )?opened (?:your email|your message|the email)?\s*{Q}(?P<subject>.+?){Q}"],
    "clicked": [rf"^(?P<who>.+?) (?:has )?clicked (?:on )?(?:a |the )?link in (?:your email )?{Q}(?P<subject>.+?){Q}",
                rf"^(?P<who>.+?) (?:has )?clicked (?:on )?(?P<link>https?://\S+) in {Q}(?P<subject>.+?){Q}"],
}
DEFAULT_SENDERS = ("mailsuite", "mailtrack")
URL = re.compile(r"https?://[^\s\"'<>]+")


def parse_notification(message: email.message.Message, extra_patterns: dict | None = None) -> dict | None:
    """One event from a notification email, or None when it is not one."""
    subject = " ".join(str(message.get("Subject", "")).split())
    body = _text(message)
    for event, patterns in PATTERNS.items():
        for pattern in list(patterns) + list((extra_patterns or {}).get(event, [])):
            for text in (subject, body.strip().splitlines()[0] if body.strip() else ""):
                m = re.search(pattern, text, re.IGNORECASE)
                if m:
                    return _event(event, m.groupdict(), message, body)
    return None


def _event(event: str, groups: dict, message, body: str) -> dict:
    who = groups.get("who", "").strip()
    name, addr = (getaddresses([who]) or [("", "")])[0]
    if "@" not in addr:
        found = re.search(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", who + " " + body)
        addr, name = (found.group(0) if found else ""), who
    link = groups.get("link") or (next(iter(URL.findall(body)), None) if event == "clicked" else None)
    try:
        received = parsedate_to_datetime(message.get("Date")).astimezone(timezone.utc).isoformat()
    except (TypeError, ValueError):
        received = None
    return {"event": event, "name": name.strip() or None, "email": addr.lower() or None, "subject": groups["subject"],
            "link": link, "message_id": (message.get("Message-ID") or "").strip(), "received_at": received,
            "notification_subject": str(message.get("Subject", ""))}


def _text(message) -> str:
    part = message.get_body(("plain", "html")) if hasattr(message, "get_body") else message
    if part is None:
        return ""
    text = part.get_content() if hasattr(part, "get_content") else str(part.get_payload(decode=True) or "")
    return re.sub(r"<[^>]+>", " ", text) if part.get_content_type() == "text/html" else text


# --- the mailbox ---------------------------------------------------------------------------------

def _connect(config: dict, secrets: dict):
    from ..safehttp import Policy, _setting

    host, ssl = config.get("host") or "", config.get("ssl", True) not in (False, "false", "0", 0)
    port = int(config.get("port") or (993 if ssl else 143))
    Policy(allow_loopback=_setting("SSRF_ALLOW_LOOPBACK", False),
           allow_private=_setting("SSRF_ALLOW_PRIVATE", False)).addresses(host, port)  # SSRF guard
    try:
        box = (imaplib.IMAP4_SSL if ssl else imaplib.IMAP4)(host, port, timeout=30)
        box.login(config.get("username") or secrets.get("username") or "", secrets.get("password") or "")
    except imaplib.IMAP4.error as exc:
        raise errors.StepError(errors.AUTH, f"The mailbox refused the login: {exc}", retryable=False) from None
    except OSError as exc:
        raise errors.StepError(errors.UPSTREAM, f"Could not reach the mailbox {host}:{port}: {exc}") from None
    return box


def fetch_events(config: dict, secrets: dict, since_days: int = 7, limit: int = 200) -> list[dict]:
    """Notification emails from the configured senders in the last `since_days`, parsed; oldest first."""
    box = _connect(config, secrets)
    try:
        status, _ = box.select(config.get("folder") or "INBOX", readonly=not config.get("mark_seen"))
        if status != "OK":
            raise errors.StepError(errors.VALIDATION, f"No folder {config.get('folder')!r} in the mailbox", retryable=False)
        since = (datetime.now(timezone.utc) - timedelta(days=since_days)).strftime("%d-%b-%Y")
        ids = set()
        for sender in config.get("senders") or DEFAULT_SENDERS:
            status, data = box.search(None, "SINCE", since, "FROM", f'"{sender}"')
            ids.update((data[0] or b"").split() if status == "OK" else [])
        out = []
        for num in sorted(ids, key=int)[-limit:]:
            status, data = box.fetch(num, "(BODY.PEEK[])")
            raw = next((part[1] for part in data if isinstance(part, tuple)), None) if status == "OK" else None
            event = parse_notification(email.message_from_bytes(raw, policy=email.policy.default),
                                       config.get("patterns")) if raw else None
            if event and event["message_id"]:
                out.append(event)
                if config.get("mark_seen"):
                    box.store(num, "+FLAGS", "\\Seen")
        return out
    finally:
        try:
            box.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def poll_notifications(op, ctx) -> Result:
    """The Mailsuite trigger (a polling trigger: `Poll(id_field="message_id")` dedupes)."""
    creds = ctx.credentials
    if creds is None:
        raise errors.StepError(errors.AUTH, "Connect the mailbox that receives Mailsuite notifications.", retryable=False)
    config = {**(creds.config or {}), **{k: v for k, v in ctx.inputs.items() if k in ("folder", "senders") and v}}
    events = fetch_events(config, creds.secrets(), int(ctx.inputs.get("since_days") or 7))
    wanted = ctx.inputs.get("event") or "any"
    items = [e for e in events if wanted in ("any", e["event"])]
    return Result(output=items, items=items)


# --- CSV export ------------------------------------------------------------------------------------

COLUMNS = {"email": ("email", "recipient", "to", "recipient email", "contact"),
           "event": ("event", "action", "type", "activity", "status"),
           "subject": ("subject", "email subject", "title"),
           "time": ("date", "time", "timestamp", "opened at", "clicked at", "last opened", "date/time"),
           "link": ("link", "url", "clicked link"), "name": ("name", "recipient name", "contact name")}


def parse_tracking_csv(text: str, columns: dict | None = None) -> list[dict]:
    """Rows of a tracking export as `{email, event, subject, time, link, name}`; the header is matched
    case-insensitively against common names unless `columns` maps our names to the file's."""
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), dialect=dialect)
    header = {h.strip().lower(): h for h in reader.fieldnames or []}
    chosen = {ours: (columns or {}).get(ours) or next((header[c] for c in names if c in header), None)
              for ours, names in COLUMNS.items()}
    if not chosen["email"]:
        raise errors.StepError(errors.VALIDATION, f"No email column among {list(header.values())}; map one.",
                               retryable=False)
    rows = []
    for row in reader:
        item = {ours: (row.get(col) or "").strip() or None if col else None for ours, col in chosen.items()}
        if item["email"]:
            item["email"] = item["email"].lower()
            item["event"] = (item["event"] or "").lower() or None
            rows.append(item)
    return rows


def import_csv(op, ctx) -> Result:
    rows = parse_tracking_csv(str(ctx.inputs.get("csv") or ""), ctx.inputs.get("columns") or None)
    wanted = ctx.inputs.get("event") or "any"
    rows = [r for r in rows if wanted == "any" or (r["event"] or "").startswith(wanted.rstrip("ed"))]
    return Result(output={"rows": rows, "count": len(rows)}, items=rows)
