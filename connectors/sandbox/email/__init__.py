"""Stateful local copies of the email-marketing APIs (MailerSend, MailerLite Classic, SendPulse,
Mailercloud), served under /sandbox/<app>/. State lives in the sandbox app's generic tables: an
account is a `SandboxLocation` (its `company_id` is the app key), documents are `SandboxRecord`s,
API keys are `SandboxToken`s labelled with the app key."""
