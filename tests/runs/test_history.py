"""Runs list (filters, keyset pages, bounded search, polling), dashboard, task counting, exports and
redaction in every view and export."""
import csv
import io
import json
from datetime import timedelta

from django.utils import timezone

from automations.engine import execute_run, start_run
from automations.models import Run
from automations.runquery import RunFilter
from automations.views.dashboard import compute, nice_max, percentile

from .conftest import SECRET, http_step, run_now


def ids_on(body):
    return [int(x.split('"')[0]) for x in body.split('href="/w/acme/runs/')[1:] if x.split('"')[0].isdigit()]


def test_filters_by_flow_status_dates_and_text(http, make_flow, ws):
    lead = make_flow([http_step("a")], name="Lead")
    order = make_flow([http_step("b", "https://crm.example/down")], name="Order")
    http.fail.add("https://crm.example/down")
    r1 = run_now(lead, {"email": "ana@example.com"})
    r2 = run_now(order, {"email": "bo@example.com", "note": "VIP customer"})
    r3 = run_now(lead, {"email": "cy@example.com"})
    Run.objects.filter(pk=r1.pk).update(created=timezone.now() - timedelta(days=3))

    def ids(**params):
        return [r.pk for r in RunFilter.from_params(ws, params).page()[0]]

    assert ids() == [r3.pk, r2.pk, r1.pk]
    assert ids(flow=lead.pk) == [r3.pk, r1.pk]
    assert ids(status="failed") == [r2.pk]
    today = timezone.now().date().isoformat()
    assert ids(date_from=today) == [r3.pk, r2.pk]
    old = (timezone.now() - timedelta(days=3)).date().isoformat()
    assert ids(date_from=old, date_to=old) == [r1.pk]
    assert ids(q="vip CUSTOMER") == [r2.pk]  # trigger data, case-insensitive
    assert ids(q="c1") == [r3.pk, r1.pk]  # step output {"id": "c1"} of the successful runs
    assert ids(q="HTTP 500") == [r2.pk]  # error message
    assert ids(flow=999999) == []  # another workspace's or a deleted flow matches nothing


def test_keyset_pages_and_bounded_search(http, make_flow, ws, settings):
    settings.FLOWLINE_RUNS_PAGE = 2
    settings.FLOWLINE_SEARCH_SCAN = 3
    flow = make_flow([{"id": "f", "operation": "flow.formatter", "inputs": {"value": "x", "transform": "lower"}}])
    runs = [start_run(flow, {"n": i, "tag": "hit" if i in (0, 5) else "miss"}) for i in range(7)]
    f = RunFilter.from_params(ws, {})
    page1, before, _ = f.page()
    page2, before2, _ = f.page(before=before)
    assert [r.pk for r in page1 + page2] == [r.pk for r in runs[::-1][:4]]
    s = RunFilter.from_params(ws, {"q": "hit"})
    found, nxt, scanned = s.page()
    assert [r.pk for r in found] == [runs[5].pk] and scanned == runs[4].pk and nxt == runs[4].pk
    found2, nxt2, _ = s.page(before=nxt)
    assert found2 == [] and nxt2 == runs[1].pk  # nothing in this window; more to search
    found3, nxt3, _ = s.page(before=nxt2)
    assert [r.pk for r in found3] == [runs[0].pk] and nxt3 is None
    assert s.ids(10) == [runs[5].pk, runs[0].pk]


def test_runs_page_filters_load_more_and_empty_states(client, http, three_steps, vera, settings):
    settings.FLOWLINE_RUNS_PAGE = 2
    client.force_login(vera)
    body = client.get("/w/acme/runs/").content.decode()
    assert "No runs yet." in body and "Run now" in body
    runs = [run_now(three_steps, {"email": f"u{i}@example.com", "first_name": f"U{i}"}) for i in range(3)]
    body = client.get("/w/acme/runs/").content.decode()
    assert f"#{runs[2].pk}" in body and f"#{runs[0].pk}" not in body
    assert f'href="/w/acme/runs/?before={runs[1].pk}"' in body and f'hx-get="/w/acme/runs/?before={runs[1].pk}"' in body
    assert 'hx-indicator="#loading-bar"' in body and "U2 &lt;u2@example.com&gt;" in body
    more = client.get(f"/w/acme/runs/?before={runs[1].pk}", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="runs-more")
    text = more.content.decode()
    assert "<html" not in text and f"#{runs[0].pk}" in text and 'id="runs-more"' not in text
    part = client.get("/w/acme/runs/?status=failed", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="runs-results").content.decode()
    assert "No runs match these filters." in part and "<html" not in part
    # viewers see no bulk replay form
    assert "Start bulk replay" not in body


def test_runs_list_polls_while_active_and_stops_with_286(client, http, three_steps, alice):
    from automations.engine import execute_run

    done = run_now(three_steps)
    active = start_run(three_steps, {"email": "x@example.com"})
    client.force_login(alice)
    body = client.get("/w/acme/runs/").content.decode()
    assert 'hx-trigger="every 2s"' in body
    poll = f"/w/acme/runs/?after={done.pk - 1}"
    assert f'hx-get="{poll}"' in body
    r = client.get(poll, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="runs-live")
    assert r.status_code == 200 and "<html" not in r.content.decode()
    execute_run(active.pk)
    r = client.get(poll, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="runs-live")
    assert r.status_code == 286 and "every 2s" not in r.content.decode()
    assert 'hx-trigger="every 2s"' not in client.get("/w/acme/runs/").content.decode()


def test_other_tenants_get_404_on_every_runs_url(client, http, three_steps, charlie):
    run = run_now(three_steps)
    client.force_login(charlie)
    for url in ["/w/acme/runs/", "/w/acme/dashboard/", "/w/acme/runs/export.csv", "/w/acme/runs/export.json",
                f"/w/acme/runs/{run.pk}/payload.json", f"/w/other/runs/{run.pk}/payload.json"]:
        assert client.get(url).status_code == 404, url
    assert client.get("/w/other/runs/").content.decode().count(f"#{run.pk}") == 0


def test_task_counting_only_successful_action_steps(http, make_flow, ws):
    http.fail.add("https://crm.example/down")
    flow = make_flow([http_step("a"), {"id": "f", "operation": "flow.formatter", "inputs": {"value": "X", "transform": "lower"}},
                      http_step("b"), http_step("c", "https://crm.example/down")])
    run = run_now(flow)
    assert run.status == Run.FAILED and run.tasks_used == 2  # a and b; not the formatter, not the failure
    ok = run_now(make_flow([http_step("a")], name="One"))
    assert ok.tasks_used == 1
    stats = compute(ws, 30)
    assert stats["tasks"] == 3 and stats["task_limit"] == 10_000


def test_dashboard_figures_and_svg(client, http, make_flow, ws, alice):
    http.fail.add("https://crm.example/down")
    good = make_flow([http_step("a")], name="Good")
    bad = make_flow([http_step("b", "https://crm.example/down")], name="Bad flow")
    old = start_run(good, {"email": "old@example.com"})  # ids follow creation time
    Run.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=2))
    execute_run(old.pk)  # counted in the rollup on its (local) creation day
    for _ in range(3):
        run_now(good)
    run_now(bad)
    Run.objects.filter(status=Run.SUCCEEDED).update(finished_at=timezone.now())
    stats = compute(ws, 7)
    assert stats["total"] == 5 and stats["failed"] == 1 and stats["success_rate"] == 80.0
    assert [r["name"] for r in stats["top_flows"]] == ["Bad flow"] and stats["categories"][0]["error_category"] == "upstream_error"
    bars = stats["chart"]["bars"]
    assert len(bars) == 7 and bars[-1]["total"] == 4 and bars[-3]["total"] == 1
    assert stats["chart"]["ticks"][-1]["value"] == 5  # nice ceiling of the busiest day (4)
    seg_heights = sum(s["h"] for s in bars[-1]["segments"])
    assert abs(seg_heights - 4 * (stats["chart"]["base"] - 10) / 5) < 1  # bars are to scale
    client.force_login(alice)
    body = client.get("/w/acme/dashboard/?days=7").content.decode()
    assert "<svg" in body and "80.0%" in body and "Bad flow" in body and "upstream_error" in body
    assert "3 succeeded, 1 failed" in body and "Tasks this month" in body and "kept 30 days" in body


def test_percentiles_and_scale():
    assert percentile([], 50) is None
    assert percentile([1, 2, 3, 4], 50) == 2 and percentile(list(range(1, 101)), 95) == 95
    assert [nice_max(v) for v in (0, 1, 3, 7, 12, 99, 101)] == [1, 1, 5, 10, 20, 100, 200]


# --- redaction ---------------------------------------------------------------------------------


def secret_run(flow):
    return run_now(flow, {"email": "jane@example.com", "first_name": SECRET, "api_key": "plain-key-value",
                          "nested": {"note": f"token is {SECRET}"}})


def test_redaction_in_every_view_and_export(client, http, three_steps, secret_connection, alice):
    run = secret_run(three_steps)
    client.force_login(alice)
    pages = {
        "run page": client.get(f"/w/acme/runs/{run.pk}/").content.decode(),
        "runs list": client.get("/w/acme/runs/").content.decode(),
        "search": client.get("/w/acme/runs/?q=jane").content.decode(),
        "payload.json": client.get(f"/w/acme/runs/{run.pk}/payload.json").content.decode(),
        "csv": b"".join(client.get("/w/acme/runs/export.csv").streaming_content).decode(),
        "json": b"".join(client.get("/w/acme/runs/export.json").streaming_content).decode(),
        "dashboard": client.get("/w/acme/dashboard/").content.decode(),
    }
    for name, text in pages.items():
        assert SECRET not in text, name
        assert "plain-key-value" not in text, name
    assert "[redacted]" in pages["run page"] and "[redacted]" in pages["payload.json"]
    full = json.loads(pages["payload.json"])
    assert full["trigger_payload"]["api_key"] == "[redacted]" and full["trigger_payload"]["email"] == "jane@example.com"
    assert full["steps"][0]["request"]["headers"]["Authorization"] == "[redacted]"
    assert len(full["steps"]) == 3 and full["steps"][0]["attempt_log"][0]["status"] == "succeeded"


def test_exports_csv_and_json_follow_the_filters(client, http, make_flow, vera):
    http.fail.add("https://crm.example/down")
    ok = run_now(make_flow([http_step("a")], name="Good"), {"email": "a@example.com", "first_name": "Ann"})
    bad = run_now(make_flow([http_step("b", "https://crm.example/down")], name="Bad"))
    client.force_login(vera)  # viewers may export
    r = client.get("/w/acme/runs/export.csv")
    assert r["Content-Type"].startswith("text/csv") and "attachment" in r["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert [int(x["id"]) for x in rows] == [bad.pk, ok.pk]
    assert rows[1]["summary"] == "Ann <a@example.com>" and rows[1]["tasks_used"] == "1" and rows[1]["steps"] == "1"
    assert rows[0]["error_category"] == "upstream_error"
    data = json.loads(b"".join(client.get("/w/acme/runs/export.json?status=failed").streaming_content))
    assert [d["id"] for d in data] == [bad.pk] and data[0]["trigger_payload"]["email"] == "jane@example.com"
    assert client.get("/w/acme/runs/export.xml").status_code == 404


def test_long_payloads_are_truncated_on_the_page_with_a_download(client, http, three_steps, alice):
    run = run_now(three_steps, {"email": "a@example.com", "blob": "x" * 50_000})
    client.force_login(alice)
    body = client.get(f"/w/acme/runs/{run.pk}/").content.decode()
    assert "x" * 50_000 not in body and "Showing the first" in body and f"/w/acme/runs/{run.pk}/payload.json" in body
    full = client.get(f"/w/acme/runs/{run.pk}/payload.json").json()
    assert len(full["trigger_payload"]["blob"]) == 50_000
