"""automations/fastsql.py writes the same rows as Model.save() / QuerySet.update(), with the SQL built once."""
from datetime import datetime, timezone as tz

import pytest
from django.db import DatabaseError, connection
from django.db.models import signals

from automations import fastsql
from automations.models import Flow, Run, StepResult, WebhookDelivery

WHEN = datetime(2026, 12, 7, 10, 30, 15, 123456, tzinfo=tz.utc)


def _row(obj):
    table = connection.ops.quote_name(type(obj)._meta.db_table)
    with connection.cursor() as c:
        c.execute(f"SELECT * FROM {table} WHERE id = %s", [obj.pk])
        names = [d[0] for d in c.description]
        return {n: (bytes(v) if isinstance(v, memoryview) else v) for n, v in zip(names, c.fetchone()) if n != "id"}


@pytest.fixture
def flow(make_flow):
    return make_flow([{"id": "f", "operation": "flow.formatter", "inputs": {"value": "x", "transform": "lower"}}])


def _run(flow, **kw):
    return Run(workspace_id=flow.workspace_id, flow=flow, version_id=flow.published_id, source="webhook",
               trigger_payload={"data": {"name": "Zoë", "n": [1, 2.5, None, True]}}, summary="Zoë",
               enqueued_at=WHEN, created=WHEN, **kw)


def test_insert_writes_the_row_save_writes(flow):
    a, b = _run(flow, dedupe_key="a"), _run(flow, dedupe_key="b")
    a.save()
    fastsql.insert(b)
    assert b.pk and b.pk != a.pk and not b._state.adding and b._state.db == "default"
    assert _row(b) == {**_row(a), "dedupe_key": "b"}
    d1 = WebhookDelivery(workspace_id=flow.workspace_id, flow=flow, delivery_id="x", headers={"k": "v"},
                         body=b"\x00\xffraw", run=b, received_at=WHEN)
    d2 = WebhookDelivery(workspace_id=flow.workspace_id, flow=flow, delivery_id="y", headers={"k": "v"},
                         body=b"\x00\xffraw", run=b, received_at=WHEN)
    d1.save()
    fastsql.insert(d2)
    assert _row(d2) == {**_row(d1), "delivery_id": "y"}
    assert bytes(WebhookDelivery.objects.get(pk=d2.pk).body) == b"\x00\xffraw"


def test_insert_row_writes_the_row_save_writes(flow):
    values = dict(workspace_id=flow.workspace_id, flow_id=flow.pk, version_id=flow.published_id, source="webhook",
                  trigger_payload={"data": {"name": "Zoë", "n": [1, 2.5, None, True]}}, summary="Zoë", enqueued_at=WHEN,
                  created=WHEN)
    a = Run(**values, dedupe_key="a")
    a.save()
    for key in ("b", "c"):  # the second time from the cached plan
        pk = fastsql.insert_row(Run, **values, dedupe_key=key)
        assert _row(Run.objects.get(pk=pk)) == {**_row(a), "dedupe_key": key}
    run = Run.objects.get(pk=pk)
    d1 = WebhookDelivery(workspace_id=flow.workspace_id, flow=flow, delivery_id="x", body=b"\x00\xffraw", run=run)
    d1.save()
    pk = fastsql.insert_row(WebhookDelivery, workspace_id=flow.workspace_id, flow_id=flow.pk, delivery_id="y",
                            body=b"\x00\xffraw", run_id=run.pk)
    d2 = WebhookDelivery.objects.get(pk=pk)
    assert d2.headers == {} and d2.source == "webhook" and bytes(d2.body) == b"\x00\xffraw"
    assert d1.received_at <= d2.received_at  # a callable default (timezone.now) is called for each row
    assert {**_row(d2), "received_at": 0, "delivery_id": 0} == {**_row(d1), "received_at": 0, "delivery_id": 0}


def test_insert_row_with_a_field_it_cannot_write_directly_builds_the_instance(flow):
    pk = fastsql.insert_row(Run, workspace_id=flow.workspace_id, flow=flow, version_id=flow.published_id)  # `flow`, not flow_id
    assert Run.objects.get(pk=pk).flow_id == flow.pk
    seen = []

    def receiver(sender, instance, **kw):
        seen.append(instance.pk)

    direct = dict(workspace_id=flow.workspace_id, flow_id=flow.pk, version_id=flow.published_id)
    fastsql.insert_row(Run, **direct)  # plans the direct INSERT
    signals.post_save.connect(receiver, sender=Run)
    try:  # a receiver connected after that still runs
        pk = fastsql.insert_row(Run, **direct)
    finally:
        signals.post_save.disconnect(receiver, sender=Run)
    assert seen == [pk]


def test_a_duplicate_insert_fails_like_save(flow):  # run_dedupe_per_flow: (flow, dedupe_key) is unique
    fastsql.insert(_run(flow, dedupe_key="same"))
    with pytest.raises(DatabaseError):
        fastsql.insert(_run(flow, dedupe_key="same"))


def test_update_writes_the_fields_save_writes(flow):
    run = fastsql.insert(_run(flow))
    a = StepResult(run=run, workspace_id=run.workspace_id, path="s1", step_id="s1", operation="http.request")
    b = StepResult(run=run, workspace_id=run.workspace_id, path="s2", step_id="s2", operation="http.request")
    a.save()
    fastsql.save(b)
    for res in (a, b):
        res.status, res.finished_at, res.output = StepResult.SUCCEEDED, WHEN, {"id": "crm_1", "ok": True}
        res.attempt_log = [{"attempt": 1, "ms": 12}]
    a.save(update_fields=["status", "finished_at", "output", "attempt_log"])
    assert fastsql.update(b, ["status", "finished_at", "output", "attempt_log"]) == 1
    assert _row(b) == {**_row(a), "path": "s2", "step_id": "s2"}
    b.error_message = "all fields"
    fastsql.save(b)
    assert StepResult.objects.get(pk=b.pk).error_message == "all fields"


def test_update_honours_auto_now(flow):
    before = Flow.objects.get(pk=flow.pk).updated
    flow.name = "Renamed"
    fastsql.update(flow, ["name", "updated"])
    fresh = Flow.objects.get(pk=flow.pk)
    assert fresh.name == "Renamed" and fresh.updated > before


def test_update_of_a_missing_row_fails_like_save(flow):
    run = fastsql.insert(_run(flow))
    Run.objects.filter(pk=run.pk).delete()
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        fastsql.update(run, ["status"])


def test_update_where_is_a_conditional_update(flow):
    run = fastsql.insert(_run(flow, status=Run.RUNNING, lease_owner="w1"))
    assert fastsql.update_where(Run, {"id": run.pk, "status": Run.RUNNING, "lease_owner": "w2"}, {"status": Run.SUCCEEDED}) == 0
    assert fastsql.update_where(Run, {"id": run.pk, "status": Run.RUNNING, "lease_owner": "w1"},
                                {"status": Run.SUCCEEDED, "finished_at": WHEN, "lease_until": None}) == 1
    fresh = Run.objects.get(pk=run.pk)
    assert (fresh.status, fresh.finished_at, fresh.lease_until) == (Run.SUCCEEDED, WHEN, None)
    with pytest.raises(ValueError):
        fastsql.update_where(Run, {"id": run.pk, "lease_until": None}, {"status": Run.FAILED})


def test_models_with_save_signals_go_through_save(flow):
    seen = []

    def receiver(sender, instance, **kw):
        seen.append(instance.pk)

    signals.post_save.connect(receiver, sender=Run)
    try:
        run = fastsql.insert(_run(flow))
        run.summary = "changed"
        fastsql.update(run, ["summary"])
    finally:
        signals.post_save.disconnect(receiver, sender=Run)
    assert seen == [run.pk, run.pk]
    assert Run.objects.get(pk=run.pk).summary == "changed"


def test_execute_keeps_what_djangos_cursor_does(flow):
    from django.db import IntegrityError, transaction
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:  # Django's query log (DEBUG, tests)
        pk = fastsql.insert_row(Run, workspace_id=flow.workspace_id, flow_id=flow.pk, version_id=flow.published_id,
                                dedupe_key="once", summary="100% sure")
        row = fastsql.execute(connection, "SELECT summary FROM automations_run WHERE id = %s AND summary LIKE '100%%%%'",
                              [pk], fetch="one")
    assert row == ("100% sure",)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT", "SELECT"]
    with pytest.raises(IntegrityError), transaction.atomic():  # the driver's error as Django's
        fastsql.insert_row(Run, workspace_id=flow.workspace_id, flow_id=flow.pk, version_id=flow.published_id,
                           dedupe_key="once")
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql.split()[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):  # what connection.execute_wrapper() installs still runs
        fastsql.insert_row(Run, workspace_id=flow.workspace_id, flow_id=flow.pk, version_id=flow.published_id)
    assert seen == ["INSERT"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side prepared statements: PostgreSQL (make test-scaled)")
def test_on_postgresql_the_statements_are_prepared_once_per_connection(flow):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:  # still visible to Django's query log
        for key in ("p1", "p2", "p3"):
            fastsql.update_where(Run, {"id": fastsql.insert(_run(flow, dedupe_key=key)).pk}, {"summary": key})
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT", "UPDATE"] * 3
    with connection.cursor() as c:
        c.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = [s for (s,) in c.fetchall() if "automations_run" in s]
    assert len(prepared) == 2 and {s.split()[0] for s in prepared} == {"INSERT", "UPDATE"}, prepared
    assert sorted(Run.objects.filter(dedupe_key__startswith="p").values_list("summary", flat=True)) == ["p1", "p2", "p3"]


def test_database_url_turns_prepared_statements_on_or_off():
    from automations.settings import _database_from_url

    assert _database_from_url("postgresql://u@h:5432/db")["OPTIONS"] == {"prepare_threshold": 5}
    assert _database_from_url("postgresql://u@h/db?prepare_threshold=none&sslmode=require")["OPTIONS"] == \
        {"prepare_threshold": None, "sslmode": "require"}
