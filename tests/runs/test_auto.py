"""Automatic handling: the auto-retry schedule, no alert until the last attempt fails, auto-pause on
the error ratio with one email to the owners."""
from datetime import timedelta

from django.core import mail
from django.utils import timezone

from automations import alerts, replay
from automations.engine import execute_run
from automations.models import Run

from .conftest import SECRET, http_step, run_now

SCHEDULE = [300, 1800, 3600, 10800, 21600]


def auto_flow(make_flow, **options):
    flow = make_flow([http_step("a"), http_step("b", "https://crm.example/down")], name="Auto")
    flow.options = {"auto_retry": True, **options}
    flow.save()
    return flow


def test_auto_retry_follows_the_schedule_and_alerts_only_after_the_last(http, make_flow, alice, bob, settings):
    settings.FLOWLINE_PAUSE_MIN_RUNS = 1000  # keep auto-pause out of this test
    http.fail.add("https://crm.example/down")
    flow = auto_flow(make_flow)
    run = run_now(flow)
    for attempt, delay in enumerate(SCHEDULE):
        run.refresh_from_db()
        assert run.status == Run.FAILED and run.auto_retries == attempt
        wait = (run.retry_at - run.finished_at).total_seconds()
        assert delay * 0.9 - 1 <= wait <= delay * 1.1 + 1, (attempt, wait)
        assert mail.outbox == []  # no alert while attempts remain
        assert replay.due_auto_retries(run.retry_at - timedelta(seconds=1)) == []
        due = replay.due_auto_retries(run.retry_at)
        assert due == [run.pk]
        assert replay.fire_auto_retry(run.pk, run.retry_at) is True
        assert replay.fire_auto_retry(run.pk, run.retry_at) is False  # fired once
        execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == Run.FAILED and run.auto_retries == 5 and run.retry_at is None
    assert http.calls.count("https://crm.example/a") == 1  # finished steps never repeated
    assert len(mail.outbox) == 1
    msg = mail.outbox[0]
    assert msg.to == ["alice@example.com"]  # owners only, not bob the editor
    assert f"/w/acme/runs/{run.pk}/" in msg.body and settings.PUBLIC_URL in msg.body
    assert "after 5 automatic retries" in msg.body and SECRET not in msg.body


def test_an_auto_retry_that_succeeds_sends_nothing(http, make_flow, alice):
    http.fail.add("https://crm.example/down")
    flow = auto_flow(make_flow)
    run = run_now(flow)
    http.fail.clear()
    run.refresh_from_db()
    replay.fire_auto_retry(run.pk, run.retry_at)
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == Run.SUCCEEDED and run.auto_retries == 1 and mail.outbox == []


def test_paused_flow_drops_pending_auto_retries(http, make_flow, alice):
    http.fail.add("https://crm.example/down")
    flow = auto_flow(make_flow)
    run = run_now(flow)
    flow.enabled = False
    flow.save()
    run.refresh_from_db()
    assert replay.fire_auto_retry(run.pk, run.retry_at) is False
    run.refresh_from_db()
    assert run.status == Run.FAILED and run.retry_at is None


def test_without_auto_retry_a_failure_alerts_at_once_throttled_per_flow(http, make_flow, alice, settings):
    settings.FLOWLINE_PAUSE_MIN_RUNS = 1000
    http.fail.add("https://crm.example/down")
    flow = make_flow([http_step("b", "https://crm.example/down")])
    run_now(flow)
    run_now(flow)
    assert len(mail.outbox) == 1 and "failed" in mail.outbox[0].subject


def test_auto_pause_after_the_error_ratio_with_one_email(http, make_flow, alice, settings):
    settings.FLOWLINE_ALERT_THROTTLE_SECONDS = 3600
    http.fail.add("https://crm.example/down")
    flow = make_flow([http_step("b", "https://crm.example/down")], name="Flaky")
    for i in range(19):
        run_now(flow)
        from django.core.cache import cache
        cache.delete(f"flowline:pausecheck:{flow.pk}")
    flow.refresh_from_db()
    assert flow.enabled is True  # 19 runs: below the minimum of 20
    run_now(flow)
    flow.refresh_from_db()
    assert flow.enabled is False and "20 of 20 runs" in flow.options["paused_reason"]
    paused = [m for m in mail.outbox if "paused" in m.subject]
    assert len(paused) == 1 and paused[0].to == ["alice@example.com"] and f"/w/acme/flows/{flow.pk}/" in paused[0].body
    assert alerts.check_error_ratio(flow, force=True) is False  # already off: no second email


def test_ratio_below_threshold_keeps_the_flow_on(http, make_flow, alice, settings):
    settings.FLOWLINE_PAUSE_MIN_RUNS = 20
    flow = make_flow([http_step("b", "https://crm.example/down")])
    for i in range(20):
        if i == 0:
            run_now(flow)  # one success: 19/20 = 95% -> paused only at >= 95%
        else:
            http.fail.add("https://crm.example/down")
            run_now(flow)
    assert alerts.error_ratio(flow) == (19, 20)
    assert alerts.check_error_ratio(flow, force=True) is True  # 95% reaches the default ratio
    flow.refresh_from_db()
    flow.enabled = True
    flow.save()
    settings.FLOWLINE_PAUSE_RATIO = 0.99
    assert alerts.check_error_ratio(flow, force=True) is False


def test_window_excludes_old_runs(http, make_flow, settings):
    http.fail.add("https://crm.example/down")
    flow = make_flow([http_step("b", "https://crm.example/down")])
    for _ in range(3):
        run_now(flow)
    Run.objects.update(created=timezone.now() - timedelta(days=8))
    assert alerts.error_ratio(flow) == (0, 0)


def test_alert_hook_never_breaks_the_engine(http, make_flow, monkeypatch):
    def boom(*a):
        raise RuntimeError("mail server on fire")

    monkeypatch.setattr(alerts, "on_run_finished", boom)
    http.fail.add("https://crm.example/down")
    run = run_now(make_flow([http_step("b", "https://crm.example/down")]))
    assert run.status == Run.FAILED
