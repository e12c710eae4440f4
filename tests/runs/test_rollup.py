"""The dashboards' rollup (automations/rollup.py) stays equal to a recount of the runs through
finishes, retries, replays, cancels and auto-retries; keeps its history through pruning; rebuilds
from the runs; and the dashboards show the numbers a count over the runs gives."""
import io
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from automations import replay, retention, rollup
from automations.engine import execute_run, start_run
from automations.models import Agency, Flow, Run, RunRollup, Workspace
from automations.views.agency import client_rows
from automations.views.dashboard import compute

from .conftest import http_step, run_now

DOWN = "https://crm.example/down"


def recount(ws) -> dict:
    """What the rollup must hold: terminal runs by local day, flow, status, failed runs' category."""
    tz, out = ZoneInfo(ws.timezone), Counter()
    for r in Run.objects.filter(workspace=ws, status__in=Run.TERMINAL):
        key = (r.created.astimezone(tz).date(), r.flow_id, r.status, r.error_category if r.status == Run.FAILED else "")
        out[key + ("runs",)] += 1
        out[key + ("tasks",)] += r.tasks_used
    return +out


def rolled(ws) -> dict:
    out = Counter()
    for r in RunRollup.objects.filter(workspace=ws):
        key = (r.day, r.flow_id, r.status, r.error_category)
        out[key + ("runs",)] += r.runs
        out[key + ("tasks",)] += r.tasks
    return +out


def created_at(flow, moment, payload=None):
    """A queued run created at `moment` (ids still follow creation order within a test)."""
    run = start_run(flow, payload or {"email": "jane@example.com"})
    Run.objects.filter(pk=run.pk).update(created=moment)
    return run


@pytest.fixture
def kolkata(ws):
    ws.timezone = "Asia/Kolkata"  # +05:30: local days that no UTC hour bucket could follow
    ws.save()
    return ws


@pytest.fixture
def mixed(http, make_flow, kolkata):
    """A workspace after a mixed sequence of finishes, retries, replays, cancels and auto-retries."""
    http.fail.add(DOWN)
    good = make_flow([http_step("a"), http_step("b")], name="Good")
    bad = make_flow([http_step("a"), http_step("x", DOWN)], name="Bad")
    halts = make_flow([{"id": "f", "operation": "flow.filter", "inputs": {"conditions": {"any": [{"all": [
        {"left": "{{ trigger.email }}", "op": "equals", "right": "nobody"}]}]}}}], name="Filtered")
    tz = ZoneInfo(kolkata.timezone)
    midnight = datetime.combine(timezone.now().astimezone(tz).date(), datetime.min.time(), tzinfo=tz)
    for moment in (midnight - timedelta(days=3, minutes=1), midnight - timedelta(minutes=1), midnight + timedelta(minutes=1)):
        for flow in (good, bad):
            execute_run(created_at(flow, moment).pk)  # either side of local midnights
    runs = [run_now(f) for f in (good, good, bad, bad, bad, halts)]
    failed = [r for r in runs if r.status == Run.FAILED]
    http.fail.clear()
    assert replay.retry_failed(failed[0]) and execute_run(failed[0].pk) == Run.SUCCEEDED  # failed -> succeeded
    assert replay.retry_failed(failed[1])  # failed -> queued, not run yet
    http.fail.add(DOWN)
    Run.objects.filter(pk=failed[2].pk).update(retry_at=timezone.now())
    bad.options = {"auto_retry": True}
    bad.save()
    assert replay.fire_auto_retry(failed[2].pk) and execute_run(failed[2].pk) == Run.FAILED  # fails again
    replay.replay_from_start(runs[0])  # a new queued run; the original stays counted
    execute_run(replay.replay_from_start(failed[2]).pk)
    assert replay.cancel(start_run(good, {}))  # queued -> cancelled
    waiting = start_run(good, {})
    Run.objects.filter(pk=waiting.pk).update(status=Run.WAITING)
    assert replay.cancel(waiting)  # waiting -> cancelled
    assert not replay.cancel(runs[1])  # finished: nothing changes
    assert not replay.retry_failed(runs[1])
    return kolkata


def test_rollup_equals_a_recount_after_mixed_changes(mixed):
    statuses = Counter(Run.objects.values_list("status", flat=True))
    assert statuses[Run.SUCCEEDED] and statuses[Run.FAILED] and statuses[Run.HALTED]
    assert statuses[Run.CANCELLED] == 2 and statuses[Run.QUEUED] == 2
    assert rolled(mixed) == recount(mixed)
    assert len({k[0] for k in recount(mixed)}) == 3  # 4 days ago, yesterday, today (local)


def test_rebuild_gives_the_same_rows(mixed):
    expected = rolled(mixed)
    RunRollup.objects.all().delete()
    call_command("rollup_runs", stdout=io.StringIO())
    assert rolled(mixed) == expected


def test_pruning_keeps_the_history_and_rebuild_keeps_pruned_days(mixed, make_flow):
    before = rolled(mixed)
    mixed.retention_days = 2
    mixed.save()
    assert retention.prune_workspace(mixed) == 2  # the two runs of 3 days ago
    assert rolled(mixed) == before != recount(mixed)  # counts outlive the runs
    oldest = min(k[0] for k in before)
    assert rollup.rebuild(mixed) and rolled(mixed) == before  # days before the oldest run are kept
    assert {k[0] for k in recount(mixed)} == {k[0] for k in before} - {oldest}


def test_rows_expire_and_go_with_their_flow(mixed, settings):
    settings.FLOWLINE_ROLLUP_DAYS = 2
    assert rollup.expire() > 0
    assert min(RunRollup.objects.values_list("day", flat=True)) >= timezone.now().date() - timedelta(days=2)
    Run.objects.filter(flow__name="Bad").delete()
    Flow.objects.filter(name="Bad").delete()
    assert not RunRollup.objects.filter(flow__name="Bad").exists()


def reference(ws, days):
    """The dashboard's figures counted over the runs, as it did before the rollup."""
    tz = ZoneInfo(ws.timezone)
    today = timezone.now().astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    per_day, by_flow, by_category, tasks = {}, Counter(), Counter(), Counter()
    for r in Run.objects.filter(workspace=ws):
        day = r.created.astimezone(tz).date()
        if day >= today.replace(day=1):
            tasks["month"] += r.tasks_used
        if day < first:
            continue
        tasks["window"] += r.tasks_used
        per_day.setdefault(day, Counter())[r.status] += 1
        if r.status == Run.FAILED:
            by_flow[r.flow.name] += 1
            by_category[r.error_category] += 1
    return per_day, by_flow, by_category, tasks


def test_dashboard_shows_what_the_runs_say(mixed):
    for days in (7, 30):
        s = compute(mixed, days)
        per_day, by_flow, by_category, tasks = reference(mixed, days)
        totals = sum(per_day.values(), Counter())
        assert {k: v for k, v in s["totals"].items() if v} == dict(totals)
        assert s["total"] == sum(totals.values()) and s["tasks"] == tasks["month"]
        assert {r["name"]: r["n"] for r in s["top_flows"]} == dict(by_flow)
        assert {r["error_category"]: r["n"] for r in s["categories"]} == dict(by_category)
        bars = {b["day"]: b["total"] for b in s["chart"]["bars"]}
        assert {d: n for d, n in bars.items() if n} == {f"{d:%a %b %-d}": sum(c.values()) for d, c in per_day.items()}


def test_agency_dashboard_counts_each_clients_local_days(mixed, http, make_flow, other_ws):
    agency = Agency.objects.create(name="Agency")
    Workspace.objects.filter(pk__in=[mixed.pk, other_ws.pk]).update(agency=agency)
    run_now(make_flow([http_step("a")], name="Other", workspace=other_ws))
    rows = {r["ws"].slug: r for r in client_rows(agency, 7)}
    per_day, by_flow, _, tasks = reference(mixed, 7)
    assert rows[mixed.slug]["runs"] == sum(sum(c.values()) for c in per_day.values())
    assert rows[mixed.slug]["failed"] == sum(by_flow.values())
    assert {f["flow__name"]: f["n"] for f in rows[mixed.slug]["failing"]} == dict(by_flow)
    assert rows[mixed.slug]["tasks"] == tasks["window"]
    assert (rows[other_ws.slug]["runs"], rows[other_ws.slug]["tasks"]) == (1, 1)
