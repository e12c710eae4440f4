"""Upstream faults through `http.request` steps on a real stack (reliability.md C1, C3, C5, C6, C7): 429 with
Retry-After, 5xx, a hanging upstream, a huge response, and a write whose acknowledgement is lost."""
import pytest

from .conftest import active, flow_def, http_steps, post_many

pytestmark = pytest.mark.e2e


def _run(stack, flow, prefix):
    answers = post_many(stack, flow["token"], 1, prefix=prefix)
    assert answers[0][0] == 200
    return answers[0][1]


def _step(stack, run_id):
    return stack.sql("select status, error_category, error_message, attempts, idempotency_key, possible_duplicate "
                     "from automations_stepresult where run_id=?", run_id)[0]


def test_upstream_faults(stack, upstream):
    flows = {name: stack.create_flow(flow_def(http_steps(upstream.url + path, 1, **extra)), name=name)
             for name, path, extra in [("429", "/r429", {}), ("503", "/r503", {}), ("hang", "/hang", {"timeout": 1}),
                                       ("huge", "/huge", {}), ("lostack", "/lostack", {})]}
    stack.start_web()
    stack.start_worker("w1")
    runs = {name: _run(stack, flow, name) for name, flow in flows.items()}
    stack.wait_for(lambda: active(stack) == 0, timeout=60, what="every run to end")

    def run_row(name):
        return stack.sql("select status, error_category from automations_run where id=?", runs[name])[0]

    # C1: 429 + Retry-After: 1 -> the next attempt waits at least 1 s, then succeeds
    assert run_row("429") == ("succeeded", "")
    times = [t for p, _, t in upstream.requests if p == "/r429"]
    assert len(times) == 2 and times[1] - times[0] >= 1.0
    # C3: 5xx twice, then 201 -> retried on the backoff schedule, succeeds
    assert run_row("503") == ("succeeded", "")
    assert _step(stack, runs["503"])[3] == 3
    # C5: a hanging upstream is cut at the step's timeout; the retry succeeds
    assert run_row("hang") == ("succeeded", "")
    assert _step(stack, runs["hang"])[3] == 2
    # C6: a response over the size cap fails clearly, without retries (and the worker survives)
    status, category, message, attempts, _, _ = _step(stack, runs["huge"])
    assert (status, category, attempts) == ("failed", "validation", 1) and "too large" in message
    assert run_row("huge") == ("failed", "validation")
    # C7: the write happened but the answer was lost -> the retry carries the same Idempotency-Key,
    # so the API (which honours the key) applied it once
    assert run_row("lostack") == ("succeeded", "")
    key = _step(stack, runs["lostack"])[4]
    assert upstream.attempts_by_key("/lostack") == {key: 2}
    assert upstream.effects[key] == 1
