"""A fake CRM declared like a connector, for polling tests: a "new" and an "updated" list trigger."""
from connectors.spec import TRIGGER, App, Operation, Pagination, Poll

APPS = [App(key="fakecrm", label="Fake CRM")]
OPERATIONS = [
    Operation(key="fakecrm.new_contact", app="fakecrm", kind=TRIGGER, label="New contact",
              pagination=Pagination(style="skip_limit", items_path="contacts", page_size=10),
              poll=Poll(id_field="id", time_field="dateAdded", dedupe="id", order="desc")),
    Operation(key="fakecrm.updated_contact", app="fakecrm", kind=TRIGGER, label="Updated contact",
              pagination=Pagination(style="skip_limit", items_path="contacts", page_size=10),
              poll=Poll(id_field="id", time_field="dateUpdated", dedupe="id_time", order="any")),
    Operation(key="fakecrm.new_tag", app="fakecrm", kind=TRIGGER, label="New tag (no time field)",
              pagination=Pagination(items_path="tags"), poll=Poll(id_field="name", order="desc")),
]
