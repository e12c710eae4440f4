"""Retention: prune runs older than the workspace's retention in batches (with steps and deliveries),
keep unfinished ones, trim oversized payloads, reclaim SQLite space; the management command."""
from datetime import timedelta

from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from automations import retention
from automations.engine import start_run
from automations.models import ReplayJob, Run, StepResult, WebhookDelivery

from .conftest import run_now


def age(run, days):
    Run.objects.filter(pk=run.pk).update(created=timezone.now() - timedelta(days=days))


def test_prune_deletes_old_finished_runs_in_batches(http, three_steps, ws, other_ws, make_flow):
    ws.retention_days = 10
    ws.save()
    old = [run_now(three_steps) for _ in range(5)]
    for r in old:
        age(r, 11)
        WebhookDelivery.objects.create(workspace=ws, flow=three_steps, delivery_id=f"d{r.pk}", body=b"{}", run=r)
    keep = run_now(three_steps)
    waiting = start_run(three_steps, {})
    Run.objects.filter(pk=waiting.pk).update(status=Run.WAITING)
    age(waiting, 40)
    replay_of_old = start_run(three_steps, {}, replay_of=old[0])
    other_flow = make_flow([], name="Other tenant flow", workspace=other_ws)
    foreign = run_now(other_flow)
    age(foreign, 11)  # the other workspace keeps 30 days
    assert retention.prune_workspace(ws, batch=2) == 5
    assert set(Run.objects.values_list("pk", flat=True)) == {keep.pk, waiting.pk, replay_of_old.pk, foreign.pk}
    assert StepResult.objects.filter(run_id__in=[r.pk for r in old]).count() == 0
    assert WebhookDelivery.objects.count() == 0
    replay_of_old.refresh_from_db()
    assert replay_of_old.replay_of is None
    assert retention.prune_workspace(other_ws) == 0


def test_prune_all_command_and_old_jobs(http, three_steps, ws, alice):
    r = run_now(three_steps)
    age(r, 31)
    job = ReplayJob.objects.create(workspace=ws, created_by=alice)
    ReplayJob.objects.filter(pk=job.pk).update(created=timezone.now() - timedelta(days=31))
    call_command("prune_runs", "--no-vacuum")
    assert not Run.objects.exists() and not ReplayJob.objects.exists()


def test_oversized_payloads_are_trimmed_once_old_enough(http, three_steps, settings):
    settings.FLOWLINE_PAYLOAD_CAP = 1000
    big = run_now(three_steps, {"email": "a@example.com", "blob": "x" * 5000})
    small = run_now(three_steps, {"email": "b@example.com"})
    assert retention.trim_payloads() == 0  # full payloads are kept for FLOWLINE_PAYLOAD_FULL_DAYS
    for r in (big, small):
        age(r, 1.5)
    assert retention.trim_payloads() == 1
    big.refresh_from_db()
    small.refresh_from_db()
    assert big.trigger_payload["_trimmed"] is True and big.trigger_payload["bytes"] > 5000
    assert len(big.trigger_payload["preview"]) == 2000 and small.trigger_payload == {"email": "b@example.com"}
    assert retention.trim_payloads() == 0  # idempotent


def test_reclaim_space_on_sqlite(db):
    assert connection.vendor == "sqlite"
    # the test database is in memory and young: nothing to do unless forced
    assert retention.reclaim_space() in ("nothing to do", "incremental_vacuum")


def test_maybe_prune_enqueues_at_most_hourly(monkeypatch):
    sent = []
    monkeypatch.setattr("automations.tasks._send", lambda *a: sent.append(a))
    assert retention.maybe_prune() is True
    assert retention.maybe_prune() is False
    assert sent == [("automations.retention.prune_all",)]


def test_sqlite_space_is_reclaimed_then_incrementally(tmp_path):
    import sqlite3

    db = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    c = db.cursor()
    c.execute("CREATE TABLE t (x TEXT)")
    c.executemany("INSERT INTO t VALUES (?)", [("y" * 1000,)] * 2000)
    before = retention._pragma(c, "page_count")
    assert retention.reclaim_sqlite(c) == "nothing to do"
    c.execute("DELETE FROM t")
    assert retention.reclaim_sqlite(c, idle=False) == "nothing to do"  # busy: wait for an idle moment
    assert retention.reclaim_sqlite(c) == "vacuum"
    assert retention._pragma(c, "page_count") < before / 10 and retention._pragma(c, "auto_vacuum") == 2
    c.executemany("INSERT INTO t VALUES (?)", [("y" * 1000,)] * 2000)
    c.execute("DELETE FROM t")
    assert retention._pragma(c, "freelist_count") > 0
    assert retention.reclaim_sqlite(c) == "incremental_vacuum"
    assert retention._pragma(c, "freelist_count") == 0
