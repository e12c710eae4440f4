"""SendPulse email service. OAuth client credentials (token cached ~55 min, refreshed once on a 401).
Facts and marks: shared/email-apis.md section 3. Webhooks carry no signature: the secret URL is the guard."""
from ..spec import App, AuthField
from .common import ACTION, SEARCH, TRIGGER, P, Pagination, Poll, custom_call, op, path, query, req

T = "connectors.email_apps.transforms."
A = "sendpulse"
PAGE = Pagination(style="limit_offset", limit_param="limit", offset_param="offset", page_size=100)
BOOK = path("book_id", label="Address book", options="sendpulse.address_books")
# sent as one base64 string of comma-separated addresses [C]; a list or "a@b.c, d@e.f" is accepted
B64_EMAILS = req("emails", description="Emails, comma-separated (sent base64-encoded)")
EVENTS = ("new_emails", "delete", "unsubscribe", "open", "redirect", "delivered", "spam", "hard_bounces",
          "soft_bounces", "task_status_update")

APP = App(
    key=A, label="SendPulse", icon="sendpulse", base_url="https://api.sendpulse.com",
    description="Address books, subscribers with variables, blacklist and transactional (SMTP) email.",
    auth=("client_credentials", "api_key", "sandbox"),
    auth_fields=(AuthField("client_id", "API ID", secret=False), AuthField("client_secret", "API secret"),
                 AuthField("api_key", "…or a Single API key", required=False)),
    rate_limit=(10, 1.0), auth_hook="connectors.email_apps.common.sendpulse_token",
    error_hook="connectors.email_apps.common.sendpulse_error",
    notes="Confirmed: OAuth client credentials (1 h tokens), address books, subscribers, variables, blacklist "
          "(base64 list), /smtp/emails (base64 HTML), 10 requests/s. SendPulse webhooks have no signature, so "
          "Flowline relies on the flow's secret URL and dedupes on (event, email, task_id, timestamp). Unconfirmed: "
          "the new_emails/delete payload fields; the Single API key (supported as an alternative).")

OPERATIONS = [
    op(A, "list_address_books", SEARCH, "List address books", "GET", "/addressbooks", pagination=PAGE,
       category="Address books"),
    op(A, "create_address_book", ACTION, "Create an address book", "POST", "/addressbooks", req("bookName",
       label="Name"), category="Address books"),
    op(A, "add_subscriber", ACTION, "Add or update a subscriber", "POST", "/addressbooks/{book_id}/emails", BOOK,
       P("email"), P("variables", type="object", description='{"name": "Jane", "phone": "+1…"}'),
       P("emails", type="array", description="…or many: [{email, variables}]"), category="Subscribers",
       description="Adding an existing email updates its variables.", extra={"pre": T + "sendpulse_emails"}),
    op(A, "update_variables", ACTION, "Update subscriber variables", "POST", "/addressbooks/{book_id}/emails/variable",
       BOOK, req("email"), req("variables", type="object"), category="Subscribers",
       extra={"pre": T + "sendpulse_variables"}),
    op(A, "get_subscriber", SEARCH, "Get a subscriber", "GET", "/addressbooks/{book_id}/emails/{email}", BOOK,
       path("email"), category="Subscribers"),
    op(A, "delete_subscribers", ACTION, "Delete subscribers from a book", "DELETE", "/addressbooks/{book_id}/emails",
       BOOK, req("emails", type="array", description="Up to 100"), category="Subscribers",
       extra={"pre": T + "sendpulse_email_list"}),
    op(A, "add_to_blacklist", ACTION, "Add to the blacklist", "POST", "/blacklist", B64_EMAILS,
       P("comment"), category="Blacklist", extra={"pre": T + "sendpulse_b64_emails"}),
    op(A, "remove_from_blacklist", ACTION, "Remove from the blacklist", "DELETE", "/blacklist", B64_EMAILS, category="Blacklist", extra={"pre": T + "sendpulse_b64_emails"}),
    op(A, "send_email", ACTION, "Send a transactional email", "POST", "/smtp/emails",
       req("to_email"), P("to_name"), req("from_email"), P("from_name"), req("subject"), P("html"), P("text"),
       P("template_id"), P("variables", type="object"), P("email", type="object"), category="Email",
       description="Through the SMTP service (must be activated; the sender must be verified).",
       extra={"pre": T + "sendpulse_smtp"}),
    op(A, "new_subscriber", TRIGGER, "New subscriber in an address book", "GET", "/addressbooks/{book_id}/emails",
       BOOK, pagination=PAGE, poll=Poll(id_field="email"),
       description="SendPulse lists have no ids or dates: fires once per email seen in the book."),
    op(A, "webhook_event", TRIGGER, "Webhook event (instant)", "", "", P("actions", type="array", enum=EVENTS),
       description="SendPulse posts a JSON array of events; each becomes one run. No signature exists.",
       extra={"instant": True, "inbound": "connectors.email_apps.webhooks.sendpulse_inbound",
              "subscribe": A + ".create_webhook"}),
    op(A, "list_webhooks", SEARCH, "List webhooks", "GET", "/v2/email-service/webhook", category="Webhooks"),
    op(A, "create_webhook", ACTION, "Create a webhook", "POST", "/v2/email-service/webhook/", req("url"),
       req("actions", type="array", enum=EVENTS), category="Webhooks"),
    op(A, "delete_webhook", ACTION, "Delete a webhook", "DELETE", "/v2/email-service/webhook/{webhook_id}",
       path("webhook_id"), category="Webhooks"),
    custom_call(A, "Base: https://api.sendpulse.com."),
]
