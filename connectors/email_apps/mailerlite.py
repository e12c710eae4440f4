"""MailerLite Classic (API v2, `X-MailerLite-ApiKey`). Facts and marks: shared/email-apis.md section 2.

Classic has no tags (GoHighLevel tags map to groups) and lists are plain JSON arrays paged by
`limit`/`offset`. Webhooks carry one event each and arrive batched as `{"events": [...]}`."""
from ..spec import App, AuthField
from .common import ACTION, SEARCH, TRIGGER, EMAIL, P, Pagination, Poll, custom_call, op, path, query, req

A = "mailerlite"
PAGE = Pagination(style="limit_offset", limit_param="limit", offset_param="offset", page_size=1000)
WHO = path("subscriber", label="Subscriber id or email")
GROUP = path("group_id", label="Group", options="mailerlite.groups")
FIELDS = P("fields", type="object", label="Custom fields", description='{"company": "Acme", "city": "Riga"}')
TYPE = P("type", enum=("active", "unsubscribed", "unconfirmed"))
EVENTS = ("subscriber.create", "subscriber.active", "subscriber.update", "subscriber.unsubscribe",
          "subscriber.add_to_group", "subscriber.remove_from_group", "subscriber.added_through_webform",
          "subscriber.bounced", "subscriber.complaint", "subscriber.automation_triggered",
          "subscriber.automation_complete", "campaign.sent")

APP = App(
    key=A, label="MailerLite Classic", icon="mailerlite", base_url="https://api.mailerlite.com/api/v2",
    description="Subscribers, groups and custom fields of a MailerLite Classic account (created before March 2022).",
    auth=("api_key", "sandbox"), auth_fields=(AuthField("api_key", "API key", help="Integrations → Developer API"),),
    rate_limit=(60, 60.0), auth_hook="connectors.email_apps.common.mailerlite_key",
    error_hook="connectors.email_apps.common.mailerlite_error",
    notes="Confirmed: base URL, X-MailerLite-ApiKey, subscribers, groups, fields, webhook events and the error body. "
          "Not for the new MailerLite (connect.mailerlite.com). Configurable because unconfirmed: the rate limit "
          "(paced at 60/min), the webhook signature (X-MailerLite-Signature, base64 HMAC-SHA256 keyed with the API "
          "key: off unless the connection sets verify_signature; the secret webhook URL is the default guard), "
          "and whether POST /subscribers updates an existing email (we treat it as create-or-update).")

OPERATIONS = [
    op(A, "upsert_subscriber", ACTION, "Create or update a subscriber", "POST", "/subscribers", EMAIL,
       P("name"), FIELDS, P("resubscribe", type="boolean"), TYPE, category="Subscribers"),
    op(A, "add_to_group", ACTION, "Add a subscriber to a group", "POST", "/groups/{group_id}/subscribers", GROUP,
       EMAIL, P("name"), FIELDS, P("resubscribe", type="boolean"), P("autoresponders", type="boolean"),
       category="Groups", description="Creates the subscriber if needed (how GoHighLevel tags map to Classic)."),
    op(A, "remove_from_group", ACTION, "Remove a subscriber from a group", "DELETE",
       "/groups/{group_id}/subscribers/{subscriber}", GROUP, WHO, category="Groups"),
    op(A, "update_subscriber", ACTION, "Update a subscriber", "PUT", "/subscribers/{subscriber}", WHO,
       P("name"), FIELDS, TYPE, P("resend_autoresponders", type="boolean"), category="Subscribers"),
    op(A, "unsubscribe", ACTION, "Unsubscribe a subscriber", "PUT", "/subscribers/{subscriber}", WHO, TYPE,
       category="Subscribers", extra={"fixed": {"type": "unsubscribed"}}),
    op(A, "get_subscriber", SEARCH, "Get a subscriber", "GET", "/subscribers/{subscriber}", WHO,
       category="Subscribers"),
    op(A, "search_subscribers", SEARCH, "Search subscribers", "GET", "/subscribers/search", query("query", required=True),
       query("minimized", type="boolean"), pagination=PAGE, category="Subscribers",
       description="Matches the email or a custom field value."),
    op(A, "list_groups", SEARCH, "List groups", "GET", "/groups", pagination=PAGE, category="Groups"),
    op(A, "create_group", ACTION, "Create a group", "POST", "/groups", req("name"), category="Groups"),
    op(A, "list_group_subscribers", SEARCH, "List a group's subscribers", "GET", "/groups/{group_id}/subscribers",
       GROUP, pagination=PAGE, category="Groups"),
    op(A, "list_fields", SEARCH, "List custom fields", "GET", "/fields", category="Fields"),
    op(A, "create_field", ACTION, "Create a custom field", "POST", "/fields", req("title"),
       P("type", enum=("TEXT", "NUMBER", "DATE"), default="TEXT"), category="Fields"),
    op(A, "new_subscriber", TRIGGER, "New subscriber", "GET", "/subscribers", query("type"), pagination=PAGE,
       poll=Poll(id_field="id", time_field="date_created"), description="Polls /subscribers; fires once per id."),
    op(A, "updated_subscriber", TRIGGER, "Updated subscriber", "GET", "/subscribers", query("type"),
       pagination=PAGE, poll=Poll(id_field="id", time_field="date_updated", dedupe="id_time"),
       description="Polls /subscribers; fires once per (id, date_updated)."),
    op(A, "webhook_event", TRIGGER, "Webhook event (instant)", "", "", P("event", enum=EVENTS, required=True),
       description="One event per MailerLite webhook; a batch {events: [...]} becomes one run per event.",
       extra={"instant": True, "inbound": "connectors.email_apps.webhooks.mailerlite_inbound",
              "subscribe": A + ".create_webhook"}),
    op(A, "list_webhooks", SEARCH, "List webhooks", "GET", "/webhooks",
       pagination=Pagination(items_path="webhooks"), category="Webhooks"),
    op(A, "create_webhook", ACTION, "Create a webhook", "POST", "/webhooks", req("url"),
       req("event", enum=EVENTS), category="Webhooks"),
    op(A, "delete_webhook", ACTION, "Delete a webhook", "DELETE", "/webhooks/{webhook_id}", path("webhook_id"),
       category="Webhooks"),
    custom_call(A, "Base: https://api.mailerlite.com/api/v2."),
]
