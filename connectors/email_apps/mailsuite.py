"""Mailsuite (formerly Mailtrack): no public API exists (shared/email-apis.md section 5), so nothing
is sent to or read from Mailsuite itself. See `imap.py` for what is possible instead."""
from ..spec import ACTION, TRIGGER, App, AuthField, Operation, Param, Poll

A = "mailsuite"
EVENT = Param("event", enum=("any", "opened", "clicked"), default="any", label="Which notifications")

APP = App(
    key=A, label="Mailsuite", icon="mailsuite",
    description="Email open and click tracking, read from Mailsuite's notification emails or its CSV export.",
    auth=("imap",),
    auth_fields=(AuthField("host", "IMAP server", secret=False, help="e.g. imap.gmail.com"),
                 AuthField("port", "Port", secret=False, required=False, default="993"),
                 AuthField("username", "Mailbox user", secret=False),
                 AuthField("password", "App password", help="An app password, not your account password"),
                 AuthField("folder", "Folder", secret=False, required=False, default="INBOX")),
    notes="Mailsuite publishes no API: no REST endpoints, webhooks, OAuth or SDK, and none of the endpoints on "
          "third-party 'Mailsuite API' pages exist. Possible: (1) a trigger that reads Mailsuite's open/click "
          "notification emails from your mailbox over IMAP (turn notifications on in Mailsuite; the wording is "
          "matched by patterns you can extend); (2) importing its tracking CSV export. Not possible: sending "
          "through Mailsuite, reading its contacts or campaigns, real-time events. Sending belongs to a Gmail or "
          "Outlook connector, since Mailsuite sends from your own mailbox.")

OPERATIONS = [
    Operation(key="mailsuite.tracking_notification", app=A, kind=TRIGGER, label="Email opened or clicked",
              category="Triggers", handler="connectors.email_apps.imap.poll_notifications",
              description="Polls the mailbox for Mailsuite notification emails; one run per notification.",
              params=(EVENT, Param("since_days", type="integer", default=7, label="Look back (days)")),
              poll=Poll(id_field="message_id", time_field="received_at")),
    Operation(key="mailsuite.import_tracking_csv", app=A, kind=ACTION, label="Import a tracking CSV export",
              category="Import", handler="connectors.email_apps.imap.import_csv", idempotent=True,
              description="Parses a Mailsuite tracking export into rows (email, event, subject, time, link) "
                          "to loop over.",
              params=(Param("csv", required=True, label="CSV text"), EVENT,
                      Param("columns", type="object", label="Column names",
                            description='Only if not detected: {"email": "Recipient", "event": "Action"}'))),
]
