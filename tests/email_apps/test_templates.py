"""Every gallery template: imported into a fresh workspace, published, and run end to end against
the sandboxes (GoHighLevel's and the email app's), with the records checked on both sides."""
import pytest

from automations.engine import execute_run, start_run
from automations.models import Run, StepResult
from connectors.email_apps import gallery
from connectors.sandbox import store as ghl_store

from .template_setup import LABEL, setup

pytestmark = pytest.mark.django_db(transaction=True)


def test_gallery_lists_three_top_connections_per_app_with_descriptions():
    for app in LABEL:
        tops = [t for t in gallery.by_app(app) if t["kind"] == "top"]
        assert len(tops) >= 3, app
    assert all(len(t["description"]) > 60 for t in gallery.TEMPLATES)


@pytest.mark.parametrize("slug", [t["slug"] for t in gallery.TEMPLATES])
def test_template_imports_publishes_and_runs(slug, sandbox):
    flow, payload, account, location = setup(slug, sandbox.server.url)
    run = start_run(flow, payload)
    status = execute_run(run.pk)
    steps = {s.path: (s.status, s.error_message) for s in StepResult.objects.filter(run=run)}
    assert status == Run.SUCCEEDED, steps
    check_effects(slug, flow.workspace, account, location)


def contacts(location):
    return {d.get("email"): d for d in ghl_store.docs(location, "contact")}


def check_effects(slug, ws, account, location):
    c = contacts(location)
    if slug == "mailersend-welcome-new-lead":
        assert [m["to"][0]["email"] for m in ghl_store.docs(account, "ms_message")] == ["lead@example.com"]
    elif slug == "mailersend-dnd-to-suppression":
        assert [d["recipient"]["email"] for d in ghl_store.docs(account, "ms_suppression")] == ["optout@example.com"]
    elif slug.startswith("mailersend"):
        assert "jane@example.com" in c
        if slug == "mailersend-click-followup-task":
            assert ghl_store.docs(location, "task")[0]["title"] == "Follow up: clicked “Your proposal”"
        if slug == "mailersend-engagement-tags":
            assert "email-unsubscribed" in c["jane@example.com"]["tags"]
    elif slug == "mailerlite-new-contact-to-group":
        sub = ghl_store.docs(account, "ml_sub")[0]
        assert sub["email"] == "lead@example.com" and sub["groups"]
    elif slug == "mailerlite-contact-updated":
        assert ghl_store.docs(account, "ml_sub")[0]["name"] == "Lea"
    elif slug == "mailerlite-notes-as-field":
        fields = {f["key"]: f["value"] for f in ghl_store.docs(account, "ml_sub")[0]["fields"]}
        assert fields["last_note"].startswith("Asked for a quote")
    elif slug == "mailerlite-unsubscribe-to-ghl":
        assert "unsubscribed" in c["guy@example.com"]["tags"]
    elif slug == "sendpulse-ghl-lead-to-book":
        assert ghl_store.docs(account, "sp_email")[0]["variables"]["name"] == "Lea Stone"
    elif slug.startswith("sendpulse"):
        assert "sam@example.com" in c
        if slug == "sendpulse-unsubscribe-task":
            assert ghl_store.docs(location, "task")
        if slug == "sendpulse-engagement-note":
            assert "redirect" in ghl_store.docs(location, "note")[0]["body"]
    elif slug == "mailercloud-ghl-contact-upsert":
        assert ghl_store.docs(account, "mc_contact")[0]["email"] == "lead@example.com"
    elif slug == "mailercloud-new-contact-sync":
        assert c["max@example.com"]["firstName"] == "Max"
    elif slug == "mailercloud-note-to-property":
        assert list(ghl_store.docs(account, "mc_contact")[0]["custom_fields"].values()) == ["Prefers calls after 5pm."]
    elif slug == "mailsuite-csv-to-notes":
        assert {"ann@example.com", "bo@example.com"} <= set(c) and len(ghl_store.docs(location, "note")) == 2
    elif slug.startswith("mailsuite"):
        assert "jane@example.com" in c
