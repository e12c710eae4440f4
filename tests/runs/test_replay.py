"""Replay semantics: retry from the failed step, replay from the start (its version / latest), cancel,
bulk replay, and who may do it."""
from automations import replay
from automations.engine import execute_run
from automations.flows import publish
from automations.models import ReplayJob, Run, StepResult
from automations.runquery import RunFilter

from .conftest import run_now


def test_retry_resumes_at_the_failed_step_without_repeating_finished_ones(http, three_steps):
    http.fail.add("https://crm.example/b")
    run = run_now(three_steps)
    assert run.status == Run.FAILED and run.error_step == "b"
    assert http.calls == ["https://crm.example/a", "https://crm.example/b"]
    http.fail.clear()
    assert replay.retry_failed(run) is True
    run.refresh_from_db()
    assert run.status == Run.QUEUED and run.error_message == "" and run.finished_at is None
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == Run.SUCCEEDED
    assert http.calls[2:] == ["https://crm.example/b", "https://crm.example/c"]  # a is not called again
    b = run.steps.get(path="b")
    assert b.status == StepResult.SUCCEEDED and [a["status"] for a in b.attempt_log] == ["failed", "succeeded"]
    assert run.tasks_used == 3 and Run.objects.count() == 1


def test_retry_only_applies_to_failed_runs(http, three_steps):
    run = run_now(three_steps)
    assert run.status == Run.SUCCEEDED
    assert replay.retry_failed(run) is False


def test_replay_from_start_on_its_version_and_on_latest(http, three_steps):
    run = run_now(three_steps)
    old_version = run.version
    three_steps.draft = {**three_steps.draft, "steps": three_steps.draft["steps"][:1]}
    three_steps.save()
    publish(three_steps)
    three_steps.refresh_from_db()
    same = replay.replay_from_start(run)
    latest = replay.replay_from_start(run, latest=True)
    assert same.version == old_version and latest.version == three_steps.published != old_version
    for new in (same, latest):
        assert new.replay_of == run and new.source == "replay" and new.trigger_payload == run.trigger_payload
    execute_run(latest.pk)
    latest.refresh_from_db()
    assert latest.status == Run.SUCCEEDED and latest.steps.count() == 1


def test_cancel_queued_and_waiting_only(http, three_steps):
    from automations.engine import start_run

    queued = start_run(three_steps, {})
    assert replay.cancel(queued) is True
    queued.refresh_from_db()
    assert queued.status == Run.CANCELLED and queued.finished_at
    assert execute_run(queued.pk) is None  # a cancelled run is never claimed
    done = run_now(three_steps)
    assert replay.cancel(done) is False
    waiting = start_run(three_steps, {})
    Run.objects.filter(pk=waiting.pk).update(status=Run.WAITING)
    assert replay.cancel(waiting) is True
    running = start_run(three_steps, {})
    Run.objects.filter(pk=running.pk).update(status=Run.RUNNING)
    assert replay.cancel(running) is False


def test_bulk_retry_of_a_filtered_set_reports_progress(http, three_steps, alice, ws):
    http.fail.add("https://crm.example/c")
    failed = [run_now(three_steps) for _ in range(4)]
    http.fail.clear()
    ok = run_now(three_steps)
    ids = RunFilter.from_params(ws, {"status": "failed"}).ids(5000)
    assert sorted(ids) == sorted(r.pk for r in failed)
    job = replay.create_bulk_job(ws, alice, ids + [ok.pk], ReplayJob.RETRY, {"status": "failed"})
    job = replay.run_bulk_job(job.pk)
    assert (job.total, job.done, job.skipped, job.failed, job.status) == (5, 4, 1, 0, "finished")
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {Run.QUEUED}
    for r in failed:
        execute_run(r.pk)
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {Run.SUCCEEDED}
    assert replay.run_bulk_job(job.pk) is None  # a finished job is not worked twice


def test_bulk_job_is_capped_and_resumes(http, three_steps, alice, ws, settings):
    settings.FLOWLINE_REPLAY_BULK_MAX = 3
    runs = [run_now(three_steps) for _ in range(5)]
    job = replay.create_bulk_job(ws, alice, [r.pk for r in runs], ReplayJob.REPLAY_VERSION, {})
    assert job.total == 3
    ReplayJob.objects.filter(pk=job.pk).update(done=1, status=ReplayJob.RUNNING)  # a worker died after one
    job = replay.run_bulk_job(job.pk)
    assert job.done == 3 and Run.objects.filter(source="replay").count() == 2


# --- views ---------------------------------------------------------------------------------------


def test_run_page_actions_and_permissions(client, http, three_steps, alice, vera, charlie):
    http.fail.add("https://crm.example/a")
    run = run_now(three_steps)
    client.force_login(vera)
    body = client.get(f"/w/acme/runs/{run.pk}/").content.decode()
    assert "Retry from the failed step" not in body and "Download the whole run" in body
    for action in ("retry", "replay", "cancel"):
        assert client.post(f"/w/acme/runs/{run.pk}/{action}").status_code == 403
    client.force_login(charlie)
    for action in ("retry", "replay", "cancel"):
        assert client.post(f"/w/acme/runs/{run.pk}/{action}").status_code == 404
        assert client.post(f"/w/other/runs/{run.pk}/{action}").status_code == 404
    assert client.get(f"/w/acme/runs/{run.pk}/payload.json").status_code == 404
    client.force_login(alice)
    body = client.get(f"/w/acme/runs/{run.pk}/").content.decode()
    assert "Retry from the failed step" in body and "Replay from the start on v1" in body
    assert client.get(f"/w/acme/runs/{run.pk}/retry").status_code == 405
    r = client.post(f"/w/acme/runs/{run.pk}/retry")
    assert r.status_code == 302 and Run.objects.get(pk=run.pk).status == Run.QUEUED
    r = client.post(f"/w/acme/runs/{run.pk}/cancel")
    assert Run.objects.get(pk=run.pk).status == Run.CANCELLED
    r = client.post(f"/w/acme/runs/{run.pk}/replay", {"on": "latest"})
    new = Run.objects.get(replay_of=run)
    assert r["Location"] == f"/w/acme/runs/{new.pk}/"
    assert f"Replay of <a href=\"/w/acme/runs/{run.pk}/\">run #{run.pk}" in client.get(r["Location"]).content.decode()


def test_bulk_replay_view_and_progress_page(client, http, three_steps, bob, vera):
    http.fail.add("https://crm.example/a")
    run_now(three_steps)
    run_now(three_steps)
    client.force_login(vera)
    assert client.post("/w/acme/runs/bulk-replay", {"mode": "retry"}).status_code == 403
    client.force_login(bob)
    r = client.post("/w/acme/runs/bulk-replay", {"mode": "retry", "flow": three_steps.pk})
    job = ReplayJob.objects.get()
    assert r["Location"] == f"/w/acme/replays/{job.pk}/" and job.total == 2 and job.filters["status"] == "failed"
    page = client.get(r["Location"], HTTP_HX_REQUEST="true")
    assert page.status_code == 200 and 'hx-trigger="every 2s"' in page.content.decode()
    replay.run_bulk_job(job.pk)
    page = client.get(r["Location"], HTTP_HX_REQUEST="true")
    assert page.status_code == 286 and "2 of 2" in page.content.decode()
