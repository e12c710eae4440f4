"""Mailsuite: the IMAP notification trigger against a real IMAP server on loopback, the CSV import,
and the polling dedupe by Message-ID through automations.polling."""
from email.message import EmailMessage

import pytest

from connectors import errors
from connectors.context import StepContext
from connectors.email_apps import imap

from .imap_server import ImapServer


def note(subject, body="", sender="Mailsuite <notifications@mailsuite.com>", mid=None):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, "me@example.com", subject
    m["Date"] = "Tue, 05 Aug 2025 21:23:54 +0000"
    m["Message-ID"] = mid or f"<{abs(hash(subject + body))}@mailsuite.com>"
    m.set_content(body or subject)
    return bytes(m)


@pytest.fixture
def mailbox(settings):
    settings.SSRF_ALLOW_LOOPBACK = True
    server = ImapServer()
    server.mailbox.add(note("Jane Doe <jane@example.com> opened your email 'Proposal for Q3'"))
    server.mailbox.add(note("Kim Lee clicked a link in 'Spring offer'", "Kim Lee (kim@example.com) clicked "
                            "https://brightside.test/offer in 'Spring offer'"))
    server.mailbox.add(note("Lunch?", sender="Bob <bob@example.com>"))  # not a notification sender
    server.mailbox.add(note("Your weekly Mailsuite summary"))  # from Mailsuite, not an open/click
    yield server
    server.close()


class Conn:
    id, app, auth_kind = 1, "mailsuite", "imap"

    def __init__(self, port, password="app-pass"):
        self.config = {"host": "127.0.0.1", "port": port, "ssl": False, "username": "me@example.com"}
        self._secrets = {"password": password}

    def secrets(self):
        return self._secrets


def test_trigger_reads_open_and_click_notifications(mailbox):
    op = __import__("connectors.email_apps.mailsuite", fromlist=["x"]).OPERATIONS[0]
    r = imap.poll_notifications(op, StepContext(inputs={}, credentials=Conn(mailbox.port)))
    assert [(e["event"], e["email"], e["subject"]) for e in r.items] == [
        ("opened", "jane@example.com", "Proposal for Q3"), ("clicked", "kim@example.com", "Spring offer")]
    assert r.items[0]["name"] == "Jane Doe" and r.items[1]["link"] == "https://brightside.test/offer"
    assert all(e["message_id"] for e in r.items) and "EXAMINE" in mailbox.mailbox.commands  # read-only
    only_clicks = imap.poll_notifications(op, StepContext(inputs={"event": "clicked"}, credentials=Conn(mailbox.port)))
    assert [e["event"] for e in only_clicks.items] == ["clicked"]


def test_wrong_password_is_an_auth_error(mailbox):
    with pytest.raises(errors.StepError) as e:
        imap.fetch_events(Conn(mailbox.port, "nope").config, {"password": "nope"})
    assert e.value.category == errors.AUTH and not e.value.retryable


def test_ssrf_guard_applies_to_the_mailbox_host(settings, mailbox):
    settings.SSRF_ALLOW_LOOPBACK = False
    with pytest.raises(errors.StepError) as e:
        imap.fetch_events(Conn(mailbox.port).config, {"password": "app-pass"})
    assert e.value.category == errors.SSRF


@pytest.mark.django_db
def test_polling_fires_once_per_message_id(mailbox, ws, settings):
    """Through automations.polling: seed first, then only new notifications fire, once each."""
    from automations import polling
    from automations.flows import publish
    from automations.models import Connection, Flow, Run, TriggerState

    conn = Connection(workspace=ws, app="mailsuite", name="Inbox", auth_kind="imap", config=Conn(mailbox.port).config)
    conn.set_secrets({"password": "app-pass"})
    conn.save()
    flow = Flow.objects.create(workspace=ws, name="Opens", enabled=True, draft={
        "trigger": {"operation": "mailsuite.tracking_notification", "connection": conn.pk, "inputs": {}}, "steps": []})
    publish(flow)
    state, _ = TriggerState.objects.get_or_create(flow=flow, defaults={"workspace_id": ws.pk})
    polling.poll(flow, state)  # seeds: nothing old fires
    assert Run.objects.filter(flow=flow).count() == 0
    mailbox.mailbox.add(note("Ann <ann@example.com> opened your email 'Invoice 42'"))
    polling.poll(flow, state)
    polling.poll(flow, state)
    runs = list(Run.objects.filter(flow=flow))
    assert len(runs) == 1 and runs[0].trigger_payload["email"] == "ann@example.com"


def test_csv_import_detects_columns_and_filters():
    text = ("Recipient;Action;Subject;Date;Link\n"
            "JANE@example.com;Opened;Proposal;2025-08-05 10:00;\n"
            "kim@example.com;Clicked;Offer;2025-08-05 11:00;https://x.test\n;Opened;No email;;\n")
    rows = imap.parse_tracking_csv(text)
    assert rows == [{"email": "jane@example.com", "event": "opened", "subject": "Proposal", "time": "2025-08-05 10:00",
                     "link": None, "name": None},
                    {"email": "kim@example.com", "event": "clicked", "subject": "Offer", "time": "2025-08-05 11:00",
                     "link": "https://x.test", "name": None}]
    r = imap.import_csv(None, StepContext(inputs={"csv": text, "event": "clicked"}))
    assert r.output["count"] == 1 and r.items[0]["email"] == "kim@example.com"
    mapped = imap.parse_tracking_csv("Who,What\na@b.c,open\n", {"email": "Who", "event": "What"})
    assert mapped[0]["email"] == "a@b.c" and mapped[0]["event"] == "open"
    with pytest.raises(errors.StepError):
        imap.parse_tracking_csv("A,B\n1,2\n")
