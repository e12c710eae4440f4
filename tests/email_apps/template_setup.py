"""Set up one gallery template in a fresh workspace against the sandboxes at `base_url`: the
GoHighLevel sandbox location and connection, the email app's sandbox account and connection, the
template's choices filled, imported and published. Used in-process and by the qcluster e2e test."""
from automations.flows import import_flow
from automations.models import Connection, Workspace
from connectors.email_apps import gallery
from connectors.sandbox import store
from connectors.sandbox.email.base import create_account

LABEL = {"mailersend": "MailerSend", "mailerlite": "MailerLite Classic", "sendpulse": "SendPulse",
         "mailercloud": "Mailercloud", "mailsuite": "Mailsuite"}
CHOICE = {"mailersend": ("ms_domain", "domain_id"), "mailerlite": ("ml_group", "group_id"),
          "sendpulse": ("sp_book", "book_id"), "mailercloud": ("mc_list", "list_id")}


def connect(ws, app, base_url):
    account, creds = create_account(app)
    conn = Connection(workspace=ws, app=app, name=LABEL[app], auth_kind="client_credentials" if app == "sendpulse" else "api_key",
                      config={"base_url": f"{base_url}/sandbox/{app}", "sandbox": True})
    conn.set_secrets(creds)
    conn.save()
    return conn, account


def setup(slug: str, base_url: str):
    """(flow, trigger payload, email account, GHL location)."""
    doc = gallery.load(slug)
    app = doc["app"]
    ws = Workspace.objects.create(name=f"Fresh {slug}", slug=slug[:50])
    location, token = store.create_location("Template test", seed=False)
    ghl = Connection(workspace=ws, app="gohighlevel", name="GoHighLevel", auth_kind="api_key",
                     config={"base_url": f"{base_url}/sandbox/gohighlevel", "location_id": location.id})
    ghl.set_secrets({"api_key": token.token})
    ghl.save()
    account, choices, payload = None, {}, dict(doc["sample_trigger"])
    if app == "mailsuite":
        Connection.objects.create(workspace=ws, app="mailsuite", name="Mailsuite", auth_kind="imap",
                                  config={"host": "127.0.0.1", "port": 1, "ssl": False})
    else:
        _, account = connect(ws, app, base_url)
        kind, key = CHOICE[app]
        choices[key] = store.docs(account, kind)[0]["id"]
        if app == "mailercloud":
            choices["property_id"] = store.docs(account, "mc_prop")[-1]["id"]
    if slug == "mailerlite-notes-as-field":  # the one-time setup its description asks for
        store.put(account, "ml_field", {"field_id": 99, "key": "last_note", "title": "Last note", "type": "TEXT"},
                  record_id="last_note")
    if doc["definition"]["trigger"]["operation"] == "gohighlevel.search_contacts":  # what the poll would deliver
        payload = {**payload, **store.put(location, "contact", {k: v for k, v in payload.items()
                                                                 if k not in ("id", "name")}).data}
    if "contactId" in payload:  # GHL note webhooks name an existing contact
        payload["contactId"] = store.put(location, "contact", {"email": "note-owner@example.com", "firstName": "Nora",
                                                               "dateAdded": store.now_iso(), "tags": []}).record_id
    assert set(gallery.needs(doc)) <= set(choices), gallery.needs(doc)
    flow, missing = import_flow(gallery.prepare(doc, choices), ws)
    assert not missing and flow.published is not None, missing
    return flow, payload, account, location
