"""Operations: /health/ready, /metrics (bearer token), JSON logs carrying the request or run id."""
import io
import json
import logging

import pytest

from automations import ops
from automations.engine import execute_run, start_run
from automations.logging import JsonFormatter
from automations.middleware import RequestIdFilter
from automations.models import Run

STEPS = [{"id": "s1", "operation": "flow.formatter", "inputs": {"value": "x", "transform": "upper"}}]


@pytest.mark.django_db(databases="__all__")
def test_health_ready_reports_every_part(client, make_flow, monkeypatch):
    flow = make_flow(STEPS)
    start_run(flow, {})
    monkeypatch.setattr(ops, "check_workers", lambda: {"alive": 1, "clusters": [{"cluster": "c", "workers": 2}]})
    r = client.get("/health/ready")
    body = r.json()
    assert r.status_code == 200 and body["status"] == "ok", body
    assert body["database"]["ok"] and body["broker"]["ok"]
    assert body["queued_runs"] == 1 and body["oldest_queued_run_age_s"] >= 0
    assert isinstance(body["queue_depth"], int)


@pytest.mark.django_db(databases="__all__")
def test_health_without_workers_is_degraded_and_strict_makes_it_503(client, monkeypatch):
    monkeypatch.setattr(ops, "check_workers", lambda: {"alive": 0, "clusters": []})
    assert client.get("/health/ready").json()["status"] == "degraded"
    assert client.get("/health/ready").status_code == 200
    assert client.get("/health/ready?strict=1").status_code == 503


@pytest.mark.django_db(databases="__all__")
def test_health_is_503_when_the_broker_is_down(client, monkeypatch):
    monkeypatch.setattr(ops, "check_broker", lambda: {"ok": False, "kind": "redis", "error": "ConnectionError"})
    r = client.get("/health/ready")
    assert r.status_code == 503 and r.json()["status"] == "down"


@pytest.mark.django_db(databases="__all__")
def test_metrics_in_prometheus_format(client, make_flow, recorder, settings):
    settings.RETRY_BASE_SECONDS = 0.01
    recorder.script = [(429, {"error": "slow down"}, {"Retry-After": "1"})]
    flow = make_flow([{"id": "s1", "operation": "http.request", "connection": None,
                       "inputs": {"method": "POST", "url": recorder.url + "/x"}}, *[dict(STEPS[0], id="s2")]])
    run = start_run(flow, {})
    execute_run(run.pk)
    done = start_run(make_flow(STEPS, name="ok"), {})
    execute_run(done.pk)
    text = client.get("/metrics").content.decode()
    assert 'flowline_runs{status="waiting"} 1' in text and 'flowline_runs{status="succeeded"} 1' in text
    assert "# TYPE flowline_step_duration_seconds histogram" in text
    assert 'flowline_step_duration_seconds_bucket{le="+Inf"} 2' in text
    assert "flowline_step_duration_seconds_count 2" in text
    assert 'flowline_rate_limited_total{connection="none"} 1' in text
    assert "flowline_queue_depth " in text and "flowline_oldest_queued_run_age_seconds " in text
    for line in text.splitlines():  # every sample line is `name{labels} number`
        if line and not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


@pytest.mark.django_db(databases="__all__")
def test_metrics_token(client, settings):
    settings.FLOWLINE_METRICS_TOKEN = "s3cret-metrics-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token").status_code == 200


@pytest.mark.django_db(databases="__all__")
def test_json_logs_carry_the_run_id(make_flow, monkeypatch):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("flowline")
    logger.addHandler(handler)
    seen = []
    monkeypatch.setattr("automations.engine.RunExecution.execute",
                        lambda self: (logging.getLogger("flowline.engine").warning("run %s working", self.run.pk), seen.append(self.run.pk)))
    try:
        from automations import engine

        run = start_run(make_flow(STEPS), {})
        engine.execute_run(run.pk)
    finally:
        logger.removeHandler(handler)
    entry = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert entry["request_id"] == f"run-{run.pk}" and entry["message"] == f"run {run.pk} working"
    assert entry["level"] == "WARNING" and entry["logger"] == "flowline.engine" and seen == [run.pk]


@pytest.mark.django_db(databases="__all__")
def test_request_id_is_echoed(client):
    r = client.get("/health/ready", HTTP_X_REQUEST_ID="abc123")
    assert r["X-Request-Id"] == "abc123"
    assert Run.objects.count() == 0
