"""MailerSend (transactional email API v1). Facts and confidence marks: shared/email-apis.md section 1.

MailerSend has no contact lists, groups or tags: "people" are recipients (created by sending) and
suppression lists. Webhook events are verified by `webhooks.mailersend_inbound`."""
from ..spec import App, AuthField
from .common import (ACTION, SEARCH, TRIGGER, P, Pagination, Poll, custom_call, op, path, query, req)

T = "connectors.email_apps.transforms."
A = "mailersend"
PAGE = Pagination(style="page", items_path="data", limit_param="limit", page_size=100)
LISTS = ("blocklist", "hard-bounces", "spam-complaints", "unsubscribes", "on-hold-list")
EVENTS = ("activity.sent", "activity.delivered", "activity.soft_bounced", "activity.hard_bounced",
          "activity.deferred", "activity.opened", "activity.opened_unique", "activity.clicked",
          "activity.clicked_unique", "activity.unsubscribed", "activity.spam_complaint", "activity.survey_opened",
          "activity.survey_submitted", "sender_identity.verified", "maintenance.start", "maintenance.end",
          "inbound_forward.failed", "email_single.verified", "email_list.verified", "bulk_email.completed")
DOMAIN = req("domain_id", label="Domain", options="mailersend.domains")
DOMAIN_Q = req("domain_id", "query", label="Domain", options="mailersend.domains")
LIST = path("list_type", label="Suppression list", enum=LISTS)

APP = App(
    key=A, label="MailerSend", icon="mailersend", base_url="https://api.mailersend.com/v1",
    description="Transactional email: send (templates, personalisation, bulk), suppressions, recipients, webhooks.",
    auth=("api_key", "sandbox"), auth_fields=(AuthField("api_key", "API token", help="Domains → API tokens"),),
    rate_limit=(60, 60.0), auth_hook="connectors.email_apps.common.bearer",
    error_hook="connectors.email_apps.common.mailersend_error",
    notes="Confirmed: Bearer auth, /email, /bulk-email, suppressions, recipients, activity, webhooks and the "
          "Signature HMAC. MailerSend has no contact lists, groups or tags: templates that mention lists use "
          "suppression lists or per-email tags instead. Configurable: the webhook test secret (MailerSend signs its "
          "webhook.test ping with a public test secret, accepted only for that event), the staleness window. "
          "Per-minute limits (60 general, 120 send, 10 activity) are third-party figures [S].")

EMAIL_PARAMS = (
    req("to_email", label="To (email)"), P("to_name", label="To (name)"),
    P("from_email", label="From email", description="Optional when the template has a default sender"),
    P("from_name", label="From name"), P("subject"), P("html", label="HTML body"), P("text", label="Text body"),
    P("template_id", options="mailersend.templates"),
    P("variables", type="object", label="Personalisation", description="{{var}} values for subject, html, text"),
    P("tags", type="array", description="Up to 5"), P("reply_to", label="Reply-to email"),
    P("cc", type="array"), P("bcc", type="array"), P("send_at", type="integer", description="Unix time, ≤ 72 h"),
    # what the pre-transform builds (sent as the documented body)
    P("to", type="array"), P("from", type="object"), P("personalization", type="array"))

OPERATIONS = [
    op(A, "send_email", ACTION, "Send an email", "POST", "/email", *EMAIL_PARAMS, category="Email",
       description="Send one email (HTML, text or a template with personalisation). Returns the message id.",
       extra={"pre": T + "mailersend_email", "post": T + "mailersend_sent"}),
    op(A, "bulk_send", ACTION, "Send emails in bulk", "POST", "/bulk-email",
       req("emails", type="array", body_path=".", description="Up to 500 email objects (5 on Trial)"),
       category="Email", description="Queue many emails at once; returns a bulk_email_id to check later."),
    op(A, "bulk_status", SEARCH, "Get bulk email status", "GET", "/bulk-email/{bulk_email_id}",
       path("bulk_email_id"), category="Email"),
    op(A, "add_suppression", ACTION, "Add to a suppression list", "POST", "/suppressions/{list_type}",
       LIST, DOMAIN, req("recipients", type="array"), P("patterns", type="array", description="Blocklist only"),
       category="Suppressions", extra={"pre": T + "split_recipients"}),
    op(A, "remove_suppression", ACTION, "Remove from a suppression list", "DELETE", "/suppressions/{list_type}",
       LIST, P("domain_id"), P("ids", type="array"), P("all", type="boolean"), category="Suppressions"),
    op(A, "list_suppressions", SEARCH, "List a suppression list", "GET", "/suppressions/{list_type}",
       LIST, query("domain_id"), pagination=PAGE, category="Suppressions"),
    op(A, "list_recipients", SEARCH, "List recipients", "GET", "/recipients", query("domain_id"),
       pagination=PAGE, category="Recipients"),
    op(A, "get_recipient", SEARCH, "Get a recipient", "GET", "/recipients/{recipient_id}", path("recipient_id"),
       category="Recipients"),
    op(A, "delete_recipient", ACTION, "Delete a recipient", "DELETE", "/recipients/{recipient_id}",
       path("recipient_id"), category="Recipients"),
    op(A, "list_domains", SEARCH, "List domains", "GET", "/domains", pagination=PAGE, category="Lookups"),
    op(A, "list_templates", SEARCH, "List templates", "GET", "/templates", query("domain_id"), pagination=PAGE,
       category="Lookups"),
    op(A, "new_activity", TRIGGER, "New email activity", "GET", "/activity/{domain_id}",
       path("domain_id", options="mailersend.domains"), query("event", type="array", label="Events",
       description="sent, delivered, opened, clicked, …"), query("date_from", type="integer"),
       query("date_to", type="integer"), pagination=Pagination(style="page", items_path="data", page_size=100),
       poll=Poll(id_field="id", time_field="created_at", order="desc"),
       description="Polls /activity (at most 10 requests a minute; a window of at most 7 days).",
       extra={"pre": T + "mailersend_activity_window"}),
    op(A, "webhook_event", TRIGGER, "Webhook event (instant)", "", "",
       P("events", type="array", enum=EVENTS, required=True), DOMAIN,
       description="MailerSend posts each event; Flowline checks the Signature HMAC, drops stale and "
                   "duplicate deliveries (data.id), and acknowledges webhook.test pings.",
       extra={"instant": True, "inbound": "connectors.email_apps.webhooks.mailersend_inbound",
              "subscribe": A + ".create_webhook"}),
    op(A, "list_webhooks", SEARCH, "List webhooks", "GET", "/webhooks", DOMAIN_Q, pagination=PAGE,
       category="Webhooks"),
    op(A, "get_webhook", SEARCH, "Get a webhook", "GET", "/webhooks/{webhook_id}", path("webhook_id"),
       category="Webhooks"),
    op(A, "create_webhook", ACTION, "Create a webhook", "POST", "/webhooks", req("url"), req("name"),
       req("events", type="array", enum=EVENTS), DOMAIN, P("enabled", type="boolean", default=True),
       category="Webhooks", description="Creates the webhook and stores its signing secret on the connection.",
       extra={"post": T + "mailersend_store_secret"}),
    op(A, "update_webhook", ACTION, "Update a webhook", "PUT", "/webhooks/{webhook_id}", path("webhook_id"),
       P("url"), P("name"), P("events", type="array", enum=EVENTS), P("enabled", type="boolean"),
       category="Webhooks"),
    op(A, "delete_webhook", ACTION, "Delete a webhook", "DELETE", "/webhooks/{webhook_id}", path("webhook_id"),
       category="Webhooks"),
    custom_call(A, "Base: https://api.mailersend.com/v1."),
]
