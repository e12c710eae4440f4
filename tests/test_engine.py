"""The run lifecycle: claim, steps, retries, halts, waits, crash recovery, idempotency keys."""
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from automations import engine, ticker
from automations.engine import execute_run, start_run
from automations.models import Run, StepResult


def http_step(url, sid="s1", **inputs):
    return {"id": sid, "key": f"call_{sid}", "name": "Call", "operation": "http.request",
            "inputs": {"method": "POST", "url": url, "body": {"email": "{{ trigger.email | lower }}"}, **inputs}}


def run_once(flow, payload=None):
    run = start_run(flow, payload or {"email": "JANE@Example.com", "name": "Jane Doe"})
    execute_run(run.pk)
    run.refresh_from_db()
    return run


def test_webhook_to_http_maps_and_records(make_flow, recorder):
    flow = make_flow([http_step(recorder.url + "/crm")])
    run = run_once(flow)
    assert run.status == Run.SUCCEEDED, run.error_message
    assert recorder.json_bodies() == [{"email": "jane@example.com"}]
    step = run.steps.get()
    assert step.status == StepResult.SUCCEEDED
    assert step.input["body"] == {"email": "jane@example.com"}
    assert step.output["status"] == 200 and step.output["body"] == {"ok": True}
    assert step.request["method"] == "POST" and step.response["status"] == 200
    assert run.tasks_used == 1 and run.summary == "Jane Doe <JANE@Example.com>"
    assert len(step.idempotency_key) == 32


def test_later_steps_read_earlier_outputs(make_flow, recorder):
    recorder.script = [(201, {"id": "c_42"}, {})]
    flow = make_flow([http_step(recorder.url + "/a", "s1"),
                      {"id": "s2", "operation": "http.request",
                       "inputs": {"method": "POST", "url": recorder.url + "/b", "body": {"contact": "{{ steps.call_s1.body.id }}"}}}])
    run = run_once(flow)
    assert run.status == Run.SUCCEEDED
    assert recorder.json_bodies()[1] == {"contact": "c_42"}


def test_transient_error_parks_the_run_and_retries_without_repeating_finished_steps(make_flow, recorder, settings):
    settings.RETRY_BASE_SECONDS = 0.01
    recorder.script = [(200, {"first": 1}, {}), (503, {"error": "busy"}, {})]
    flow = make_flow([http_step(recorder.url + "/a", "s1"), http_step(recorder.url + "/b", "s2")])
    run = run_once(flow)
    assert run.status == Run.WAITING and run.due_at is not None
    s2 = run.steps.get(path="s2")
    assert s2.status == StepResult.RETRYING and s2.error_category == "upstream_error"
    # the ticker hands it back when due; the run resumes at s2 and s1 is not called again
    ticker_result = ticker.tick(now=timezone.now() + timedelta(seconds=5))
    assert run.pk in ticker_result["due"]
    time.sleep(max(0.0, (s2.due_at - timezone.now()).total_seconds()))  # the tick looked ahead; the engine reads the clock
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == Run.SUCCEEDED, (run.error_message, list(run.steps.values("path", "status", "error_message", "attempt_log")))
    assert [r["path"] for r in recorder.requests] == ["/a", "/b", "/b"]
    s2.refresh_from_db()
    assert s2.attempts == 2 and len(s2.attempt_log) == 2
    assert recorder.requests[1]["body"] == recorder.requests[2]["body"]


def test_retry_after_is_honoured(make_flow, recorder):
    recorder.script = [(429, {"error": "slow down"}, {"Retry-After": "30"})]
    run = run_once(make_flow([http_step(recorder.url)]))
    assert run.status == Run.WAITING
    wait = (run.due_at - timezone.now()).total_seconds()
    assert 28 <= wait <= 34
    assert run.steps.get().error_category == "rate_limited"


def test_permanent_error_fails_with_category(make_flow, recorder):
    recorder.script = [(422, {"message": ["email must be an email"]}, {})]
    run = run_once(make_flow([http_step(recorder.url)]))
    assert run.status == Run.FAILED
    assert run.error_category == "validation" and run.error_step == "s1"
    assert "422" in run.error_message
    assert len(recorder.requests) == 1


def test_attempts_are_bounded(make_flow, recorder, settings):
    settings.RETRY_BASE_SECONDS = 0.0
    recorder.script = [(500, {}, {})] * 10
    flow = make_flow([dict(http_step(recorder.url), retry={"max_attempts": 3})])
    run = start_run(flow, {})
    for _ in range(5):
        Run.objects.filter(pk=run.pk, status=Run.WAITING).update(due_at=timezone.now())
        execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == Run.FAILED and len(recorder.requests) == 3


def test_mapping_error_is_a_clear_failure(make_flow, recorder):
    flow = make_flow([http_step(recorder.url)])
    flow.published.definition["steps"][0]["inputs"]["body"] = {"x": "{{ trigger.email | nosuchfilter }}"}
    flow.published.save()
    run = run_once(flow)
    assert run.status == Run.FAILED and run.error_category == "mapping"
    assert recorder.requests == []


def test_filter_halts_and_is_not_an_error(make_flow, recorder):
    flow = make_flow([
        {"id": "f", "operation": "flow.filter", "inputs": {"conditions": {"any": [{"all": [
            {"left": "{{ trigger.email }}", "op": "contains", "right": "@vip.com"}]}]}}},
        http_step(recorder.url, "s2")])
    run = run_once(flow, {"email": "joe@example.com"})
    assert run.status == Run.HALTED and run.error_category == ""
    assert recorder.requests == []
    run = run_once(flow, {"email": "amy@vip.com"})
    assert run.status == Run.SUCCEEDED and len(recorder.requests) == 1


def test_paths_and_loop(make_flow, recorder):
    flow = make_flow([
        {"id": "p", "operation": "flow.paths", "branches": [
            {"name": "Big", "conditions": {"any": [{"all": [{"left": "{{ trigger.total }}", "op": "gt", "right": "100"}]}]},
             "steps": [{"id": "big", "operation": "http.request", "inputs": {"url": recorder.url + "/big", "method": "POST"}}]},
            {"name": "Each item", "conditions": {},
             "steps": [{"id": "l", "operation": "flow.loop", "inputs": {"items": "{{ trigger.items }}"},
                        "steps": [{"id": "it", "operation": "http.request",
                                   "inputs": {"url": recorder.url + "/item", "method": "POST", "body": {"sku": "{{ loop.item.sku }}", "n": "{{ loop.index }}"}}}]}]},
        ]}])
    run = run_once(flow, {"total": 150, "items": [{"sku": "A"}, {"sku": "B"}]})
    assert run.status == Run.SUCCEEDED, run.error_message
    assert [r["path"] for r in recorder.requests] == ["/big", "/item", "/item"]
    assert recorder.json_bodies()[1:] == [{"sku": "A", "n": 0}, {"sku": "B", "n": 1}]
    assert set(run.steps.values_list("path", flat=True)) >= {"p", "p/b0/big", "p/b1/l", "p/b1/l[0]/it", "p/b1/l[1]/it"}


def test_delay_parks_without_holding_a_worker(make_flow, recorder):
    flow = make_flow([{"id": "d", "operation": "flow.delay", "inputs": {"amount": 2, "unit": "hours"}},
                      http_step(recorder.url, "s2")])
    run = run_once(flow)
    assert run.status == Run.WAITING and run.lease_owner == ""
    assert (run.due_at - timezone.now()) > timedelta(hours=1, minutes=59)
    assert execute_run(run.pk) is None  # not due: nobody can claim it
    Run.objects.filter(pk=run.pk).update(due_at=timezone.now())
    StepResult.objects.filter(run=run, path="d").update(due_at=timezone.now())
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == Run.SUCCEEDED and len(recorder.requests) == 1


def test_claim_is_exclusive(make_flow, recorder):
    flow = make_flow([http_step(recorder.url)])
    run = start_run(flow, {})
    assert engine.claim(run.pk) is not None
    assert engine.claim(run.pk) is None  # a second worker (or duplicate task) does nothing


def test_crashed_worker_resumes_at_unfinished_step_and_flags_possible_duplicate(make_flow, recorder):
    flow = make_flow([http_step(recorder.url + "/a", "s1"), http_step(recorder.url + "/b", "s2")])
    run = start_run(flow, {})
    # simulate a worker that finished s1, started s2 and died (lease expired)
    claimed = engine.claim(run.pk)
    ex = engine.RunExecution(claimed)
    ex.run_step(flow.published.definition["steps"][0], "s1", ex.data)
    # s2's "running" marker is written with s1's outcome (one transaction), then the worker dies
    ex._write(lambda: StepResult.objects.create(run=run, workspace=run.workspace, path="s2", step_id="s2",
                                                operation="http.request", status=StepResult.RUNNING, attempts=1,
                                                idempotency_key="k" * 32))
    Run.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert run.pk in ticker.tick()["expired"]
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == Run.SUCCEEDED
    assert [r["path"] for r in recorder.requests] == ["/a", "/b"]
    s2 = run.steps.get(path="s2")
    assert s2.possible_duplicate and run.possible_duplicate and s2.attempts == 2


def test_finished_run_is_never_reclaimed(make_flow, recorder):
    run = run_once(make_flow([http_step(recorder.url)]))
    Run.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(hours=1))
    assert ticker.tick()["expired"] == []
    assert execute_run(run.pk) is None
    run.refresh_from_db()
    assert run.status == Run.SUCCEEDED


def test_poison_run_gives_up(make_flow, recorder):
    run = start_run(make_flow([http_step(recorder.url)]), {})
    Run.objects.filter(pk=run.pk).update(claims=engine.MAX_CLAIMS)
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == Run.FAILED and run.error_category == "crashed"


def test_pump_claims_queued_runs_oldest_first_and_each_once(make_flow, recorder):
    from automations.pump import Pump

    flow = make_flow([http_step(recorder.url)])
    runs = [start_run(flow, {"email": f"n{i}@example.com"}) for i in range(3)]
    claimed = engine.claim_queued(2)
    assert [r.pk for r in claimed] == [runs[0].pk, runs[1].pk]
    assert all(r.status == Run.RUNNING and r.lease_owner == engine.WORKER_ID and r.claims == 1 for r in claimed)
    assert [r.pk for r in engine.claim_queued(5)] == [runs[2].pk]  # a claimed run is never handed out twice
    assert engine.claim_queued(5) == []
    engine.release(claimed)  # a pump shutting down hands back what it did not start
    assert list(Run.objects.filter(pk__in=[runs[0].pk, runs[1].pk]).values_list("status", "claims", "lease_owner")) == \
        [(Run.QUEUED, 0, ""), (Run.QUEUED, 0, "")]
    pump = Pump(poll=0, batch=2)
    assert pump.pump_once() == 2 and pump.pump_once() == 0
    assert sorted(Run.objects.filter(pk__in=[r.pk for r in runs]).values_list("status", flat=True)) == \
        [Run.RUNNING, Run.SUCCEEDED, Run.SUCCEEDED]  # runs[2] is still claimed by the first claim_queued
    assert len(recorder.json_bodies()) == 2


def test_a_pump_hands_back_claimed_runs_a_slow_run_held_up(make_flow, recorder, monkeypatch):
    from automations import pump

    flow = make_flow([http_step(recorder.url)])
    runs = [start_run(flow, {"email": f"n{i}@example.com"}) for i in range(3)]
    monkeypatch.setattr(pump, "HOLD_SECONDS", 0.0)  # every run is "slow": only the first of a batch starts
    assert pump.Pump(poll=0, batch=3).pump_once() == 3
    assert list(Run.objects.filter(pk__in=[r.pk for r in runs]).order_by("pk").values_list("status", "lease_owner", "claims")) == \
        [(Run.SUCCEEDED, "", 1), (Run.QUEUED, "", 0), (Run.QUEUED, "", 0)]
    assert len(recorder.json_bodies()) == 1


def test_a_finished_step_is_written_with_the_finish_in_one_transaction(make_flow, recorder):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    run = start_run(make_flow([http_step(recorder.url)]), {"email": "a@example.com"})
    with CaptureQueriesContext(connection) as queries:
        execute_run(run.pk)
    writes = [q["sql"].split()[0] for q in queries.captured_queries if not q["sql"].startswith("SELECT")]
    # claim; the step's durable "running" marker; then its outcome + the run's finish + the rollup together
    assert writes == ["UPDATE", "INSERT", "SAVEPOINT", "UPDATE", "UPDATE", "INSERT", "RELEASE"], writes
    step = run.steps.get()
    assert step.status == StepResult.SUCCEEDED and step.output["status"] == 200


def test_ssrf_guard_blocks_private_targets_by_default(make_flow, settings):
    settings.SSRF_ALLOW_LOOPBACK = False
    from connectors import safehttp

    if hasattr(safehttp, "_reset_client"):
        safehttp._reset_client()
    run = run_once(make_flow([http_step("http://169.254.169.254/latest/meta-data/")]))
    assert run.status == Run.FAILED and run.error_category == "ssrf_blocked"


def test_backoff_grows_and_is_capped(settings):
    settings.RETRY_BASE_SECONDS, settings.RETRY_MAX_SECONDS = 5, 60
    values = [engine.backoff_seconds(n) for n in range(1, 8)]
    assert 4 <= values[0] <= 6 and values[2] > values[0]
    assert max(values) <= 72
