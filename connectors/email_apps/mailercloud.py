"""Mailercloud (`Authorization: <key>`, no Bearer). Facts and marks: shared/email-apis.md section 4.
Searches are POSTs paged by `page`/`limit` in the body. Paths marked unconfirmed can be overridden per
connection (`config["paths"]["mailercloud.update_contact"] = "/contacts/{contact}"`)."""
from ..spec import App, AuthField
from .common import ACTION, SEARCH, TRIGGER, EMAIL, P, Pagination, Poll, custom_call, op, path, req

A = "mailercloud"
PAGE = Pagination(style="page", items_path="data", limit_param="limit", page_param="page", page_size=100,
                  in_body=True)
LIST = req("list_id", label="List", options="mailercloud.lists")
CONTACT = (P("name"), P("last_name"), P("phone"), P("city"), P("state"), P("zip"), P("country"),
           P("organization"), P("job_title"), P("department"), P("industry"),
           P("custom_fields", type="object", description='{"<property id>": "value"}'),
           P("tags", type="array"))
U = {"unconfirmed": True}

APP = App(
    key=A, label="Mailercloud", icon="mailercloud", base_url="https://cloudapi.mailercloud.com/v1",
    description="Lists, contacts, properties (custom fields) and tags.",
    auth=("api_key", "sandbox"), auth_fields=(AuthField("api_key", "API key", help="Account → Integrations → API"),),
    rate_limit=(2, 1.0), auth_hook="connectors.email_apps.common.mailercloud_key",
    error_hook="connectors.email_apps.common.mailercloud_error",
    notes="Confirmed: base URL, the raw Authorization key, list/contact/property/tag searches, create, upsert and "
          "batch. Unconfirmed and configurable per connection (config.paths): the update path (email or id), the "
          "delete path, create property; the rate limit is unpublished (paced at 2/s). Webhooks are set up in the "
          "Mailercloud UI only and their payload is undocumented, so the reliable trigger is polling a list.")

OPERATIONS = [
    op(A, "create_contact", ACTION, "Create a contact", "POST", "/contacts", EMAIL, LIST, *CONTACT,
       category="Contacts"),
    op(A, "upsert_contact", ACTION, "Create or update a contact", "POST", "/contacts/upsert", EMAIL, LIST,
       *CONTACT, category="Contacts", description="Returns contact_id and status created|updated."),
    op(A, "batch_contacts", ACTION, "Create or update contacts in bulk", "POST", "/contacts/batch", LIST,
       req("contacts", type="array"), category="Contacts"),
    op(A, "search_contacts", SEARCH, "Search contacts in a list", "POST", "/contact/search/{list_id}",
       path("list_id", options="mailercloud.lists"), P("search"), pagination=PAGE, category="Contacts"),
    op(A, "update_contact", ACTION, "Update a contact", "PUT", "/contacts/{contact}",
       path("contact", label="Contact email or id"), *CONTACT, category="Contacts", extra=U),
    op(A, "delete_contact", ACTION, "Delete a contact", "DELETE", "/contacts/{contact_id}", path("contact_id"),
       category="Contacts", extra=U),
    op(A, "list_lists", SEARCH, "List lists", "POST", "/lists/search", P("search_name"),
       P("list_type", type="integer", default=1), pagination=PAGE, category="Lists"),
    op(A, "create_list", ACTION, "Create a list", "POST", "/list", req("name"),
       P("list_type", type="integer", default=1), category="Lists"),
    op(A, "list_properties", SEARCH, "List contact properties", "POST", "/contact/property/search", P("search"),
       pagination=PAGE, category="Properties"),
    op(A, "create_property", ACTION, "Create a contact property", "POST", "/contact/property", req("name"),
       P("type", enum=("text", "number", "date", "textarea"), default="text"), category="Properties", extra=U),
    op(A, "list_tags", SEARCH, "List tags", "POST", "/tags/search", P("search"), pagination=PAGE, category="Tags"),
    op(A, "new_contact", TRIGGER, "New contact in a list", "POST", "/contact/search/{list_id}",
       path("list_id", options="mailercloud.lists"), pagination=PAGE, poll=Poll(id_field="id"),
       description="Polls the list's contact search; fires once per contact id."),
    custom_call(A, "Base: https://cloudapi.mailercloud.com/v1."),
]
