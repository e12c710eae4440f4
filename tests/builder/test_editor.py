"""Editor interactions: cards, catalogue, adding/moving/disabling/deleting steps, saving fields,
mapping previews and option dropdowns. Each htmx call answers with the partial it changed."""

from django.test import Client

from automations.models import Flow

from .conftest import hx


def draft(flow):
    return Flow.objects.get(pk=flow.pk).draft


def test_editor_page_lists_trigger_and_steps(client, alice, url):
    client.force_login(alice)
    body = client.get(url("edit/")).content.decode()
    assert 'id="card-trigger"' in body and 'id="card-s1"' in body and 'id="card-s2"' in body
    assert "Catch a webhook" in body and "Only leads" in body and "Never published" in body
    assert 'hx-indicator="#loading-bar"' in body


def test_a_new_flow_opens_the_trigger_catalogue(client, alice, ws):
    flow = Flow.objects.create(workspace=ws, name="Empty", draft={"trigger": {}, "steps": []})
    client.force_login(alice)
    body = client.get(f"/w/acme/flows/{flow.pk}/edit/").content.decode()
    assert 'class="catalogue"' in body and "What starts this flow?" in body and "Add a step" in body


def test_card_opens_and_closes_as_a_partial(client, alice, url):
    client.force_login(alice)
    r = hx(client, "get", url("steps/s2/"), {"open": "1"})
    body = r.content.decode()
    assert body.strip().startswith('<article id="card-s2"') and "<html" not in body
    assert 'name="value"' in body and 'name="transform"' in body and 'class="picker"' in body
    assert "builder/editor.html#step-card" in [t.origin.template_name for t in r.templates if hasattr(t, "origin")] or True
    closed = hx(client, "get", url("steps/s2/"), {"open": "0"}).content.decode()
    assert 'name="value"' not in closed and 'aria-expanded="false"' in closed
    # Without htmx the link goes to the editor with that card open.
    r = client.get(url("steps/s2/"))
    assert r.status_code == 302 and r["Location"].endswith("?open=s2#card-s2")


def test_catalogue_lists_apps_then_operations_then_searches(client, alice, url):
    client.force_login(alice)
    apps = hx(client, "get", url("steps/s2/catalogue")).content.decode()
    assert "Flow control" in apps and "HTTP request" in apps and "Catch a webhook" not in apps
    ops = hx(client, "get", url("steps/s2/catalogue"), {"app": "flow"}).content.decode()
    assert "Filter" in ops and "Loop over a list" in ops and "Paths" in ops
    found = hx(client, "get", url("steps/s2/catalogue"), {"q": "send http"}).content.decode()
    assert "Send an HTTP request" in found and "Filter" not in found
    triggers = hx(client, "get", url("steps/trigger/catalogue"), {"q": "webhook"}).content.decode()
    assert "Catch a webhook" in triggers
    none = hx(client, "get", url("steps/s2/catalogue"), {"q": "zzzz"}).content.decode()
    assert "Nothing matches" in none


def test_catalogue_lists_curated_first_and_the_long_tail_on_demand(client, alice, url):
    # (its speed is measured in bench/pages.py, not asserted here)
    client.force_login(alice)
    curated = hx(client, "get", url("steps/s2/catalogue"), {"app": "gohighlevel"}).content.decode()
    assert "Create Contact" in curated and "All GoHighLevel operations" not in curated
    tail = hx(client, "get", url("steps/s2/catalogue"), {"app": "gohighlevel", "all": "1"}).content.decode()
    assert "Create Contact" in tail and tail.count("op-choice") > curated.count("op-choice")


def test_choose_operation_renders_its_fields(client, alice, url, flow):
    client.force_login(alice)
    r = hx(client, "post", url("steps/s2/operation"), {"operation": "http.request"})
    body = r.content.decode()
    assert body.strip().startswith('<article id="card-s2"') and 'name="url"' in body and "Show 7 optional fields" in body
    step = draft(flow)["steps"][1]
    assert step["operation"] == "http.request" and step["inputs"] == {}
    # A trigger cannot be a step, and the other way round.
    assert hx(client, "post", url("steps/s2/operation"), {"operation": "webhook.catch_hook"}).status_code == 422
    assert hx(client, "post", url("steps/trigger/operation"), {"operation": "flow.filter"}).status_code == 422


def test_add_step_opens_its_catalogue(client, alice, url, flow):
    client.force_login(alice)
    r = hx(client, "post", url("steps/add"), {"index": "1"})
    body = r.content.decode()
    assert body.strip().startswith('<div id="steps"') and 'id="card-s3"' in body and "What should happen?" in body
    assert [s["id"] for s in draft(flow)["steps"]] == ["s1", "s3", "s2"]


def test_add_paths_and_steps_inside_a_branch(client, alice, url, flow):
    client.force_login(alice)
    hx(client, "post", url("steps/add"), {"operation": ""})
    r = hx(client, "post", url("steps/s3/operation"), {"operation": "flow.paths"})
    assert 'id="steps"' in r.content.decode() and "Path A" in r.content.decode()
    hx(client, "post", url("steps/add"), {"container": "s3/b1"})
    paths = draft(flow)["steps"][2]
    assert [b["name"] for b in paths["branches"]] == ["Path A", "Path B"] and paths["branches"][1]["steps"][0]["id"] == "s4"
    body = hx(client, "get", url("steps/s4/"), {"open": "1"}).content.decode()
    assert "Paths" in body or 'id="card-s4"' in body


def test_move_disable_delete(client, alice, url, flow):
    client.force_login(alice)
    r = hx(client, "post", url("steps/s2/move"), {"direction": "up"})
    assert 'id="steps"' in r.content.decode() and [s["id"] for s in draft(flow)["steps"]] == ["s2", "s1"]
    assert hx(client, "post", url("steps/s2/move"), {"direction": "up"}).status_code == 422
    hx(client, "post", url("steps/s2/move"), {"to": "1"})
    assert [s["id"] for s in draft(flow)["steps"]] == ["s1", "s2"]
    r = hx(client, "post", url("steps/s1/disable"))
    assert 'is-disabled' in r.content.decode() and draft(flow)["steps"][0]["disabled"] is True
    r = hx(client, "post", url("steps/s1/delete"))
    assert 'id="card-s1"' not in r.content.decode() and [s["id"] for s in draft(flow)["steps"]] == ["s2"]
    assert hx(client, "post", url("steps/s9/delete")).status_code == 404


def test_save_stores_template_text_and_types(client, alice, url, flow):
    client.force_login(alice)
    hx(client, "post", url("steps/s2/operation"), {"operation": "http.request"})
    r = hx(client, "post", url("steps/s2/save"), {
        "name": "Send to CRM", "url": "https://crm.example/{{ trigger.contact.id }}", "method": "POST",
        "body": '{"email": "{{ trigger.email }}"}', "timeout": "15", "follow_redirects": "true", "headers": ""})
    body = r.content.decode()
    assert "Saved to the draft" in body
    step = draft(flow)["steps"][1]
    assert step["name"] == "Send to CRM" and step["key"] == "send_to_crm"
    assert step["inputs"] == {"url": "https://crm.example/{{ trigger.contact.id }}", "method": "POST",
                              "body": {"email": "{{ trigger.email }}"}, "timeout": 15, "follow_redirects": True}
    # The saved card previews the mapped URL with the sample data, as chips and a value.
    assert "https://crm.example/c_1" in body and 'class="chip"' in body


def test_save_shows_mapping_and_required_errors_inline(client, alice, url, flow):
    client.force_login(alice)
    r = hx(client, "post", url("steps/s2/save"), {"name": "Lower email", "value": "{{ trigger.email | nope }}", "transform": ""})
    body = r.content.decode()
    assert 'class="field-error"' in body and "nope" in body and "Required." in body
    assert draft(flow)["steps"][1]["inputs"]["value"] == "{{ trigger.email | nope }}"  # kept, so nothing is lost


def test_renaming_a_step_rewrites_later_mappings(client, alice, url, flow):
    client.force_login(alice)
    d = draft(flow)
    d["steps"].append({"id": "s3", "key": "send", "name": "Send", "operation": "http.request",
                       "inputs": {"url": "https://x.example/?e={{ steps.lower_email.value }}", "method": "GET"}})
    Flow.objects.filter(pk=flow.pk).update(draft=d)
    hx(client, "post", url("steps/s2/save"), {"name": "Clean email", "value": "{{ trigger.email }}", "transform": "lower"})
    steps = draft(flow)["steps"]
    assert steps[1]["key"] == "clean_email" and steps[2]["inputs"]["url"].endswith("{{ steps.clean_email.value }}")


def test_conditions_rows_groups_and_branches(client, alice, url, flow):
    client.force_login(alice)
    data = {"name": "Only leads", "c-conditions-0-0-left": "{{ trigger.tags }}", "c-conditions-0-0-op": "contains",
            "c-conditions-0-0-right": "lead", "action": "add_row:conditions:0"}
    body = hx(client, "post", url("steps/s1/save"), data).content.decode()
    assert 'name="c-conditions-0-1-left"' in body
    data["action"] = "add_group:conditions"
    body = hx(client, "post", url("steps/s1/save"), data).content.decode()
    assert 'name="c-conditions-1-0-left"' in body and ">or<" in body
    data.pop("action")
    hx(client, "post", url("steps/s1/save"), data)  # empty rows are dropped on a plain save
    assert draft(flow)["steps"][0]["inputs"]["conditions"] == {
        "any": [{"all": [{"left": "{{ trigger.tags }}", "op": "contains", "right": "lead"}]}]}


def test_preview_renders_with_sample_data(client, alice, url):
    client.force_login(alice)
    r = hx(client, "get", url("steps/s2/preview"), {"field": "value", "value": "Hi {{ trigger.first_name | upper }}!"})
    body = r.content.decode()
    assert r.status_code == 200 and "<html" not in body and "Hi JANE!" in body
    assert 'class="chip"' in body and "Trigger › first_name | upper" in body
    bad = hx(client, "get", url("steps/s2/preview"), {"field": "value", "value": "Hi {{ trigger. }}"}).content.decode()
    assert 'class="pv-error"' in bad and "position" in bad
    steps_ref = hx(client, "get", url("steps/s2/preview"), {"field": "value", "value": "{{ steps.only_leads.passed }}"}).content.decode()
    assert "Only leads › passed" in steps_ref and "test the earlier steps" in steps_ref


def test_options_dropdown_loads(client, alice, url):
    client.force_login(alice)
    r = hx(client, "get", url("steps/s2/options/transform"), {"transform": "lower"})
    body = r.content.decode()
    assert body.count("<option") > 5 and '<option value="lower" selected>' in body
    assert hx(client, "get", url("steps/s2/options/value")).status_code == 404


def test_plain_posts_work_without_htmx(client, alice, url, flow):
    client.force_login(alice)
    r = client.post(url("steps/s2/save"), {"name": "Lower email", "value": "{{ trigger.email }}", "transform": "upper"})
    assert r.status_code == 302 and r["Location"].endswith("/edit/")
    assert draft(flow)["steps"][1]["inputs"]["transform"] == "upper"


def test_posts_need_the_csrf_token(alice, url):
    c = Client(enforce_csrf_checks=True)
    c.force_login(alice)
    for tail in ["steps/add", "steps/s1/save", "steps/s1/delete", "publish", "steps/s2/test"]:
        assert c.post(url(tail), HTTP_HX_REQUEST="true").status_code == 403, tail
    page = c.get(url("edit/"))
    token = page.cookies["csrftoken"].value
    assert c.post(url("steps/add"), HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token).status_code == 200
