"""The email-marketing connectors: MailerSend, MailerLite Classic, SendPulse, Mailercloud (declared
HTTP operations run by the one executor) and Mailsuite (no API: IMAP notifications and CSV import)."""
from . import mailercloud, mailerlite, mailersend, mailsuite, sendpulse

MODULES = (mailersend, mailerlite, sendpulse, mailercloud, mailsuite)
APPS = [m.APP for m in MODULES]
OPERATIONS = [o for m in MODULES for o in m.OPERATIONS]
