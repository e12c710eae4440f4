"""Group commit (automations/groupcommit.py): webhook deliveries that arrive while this process is
writing are stored in one transaction, each answered only once committed, each with its own outcome."""
import threading
import time

import pytest
from django.db import DatabaseError, connection, transaction

from automations import intake
from automations.groupcommit import GroupCommit
from automations.models import Run, WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)


class Recording(GroupCommit):
    """The real group commit, noting the size of each batch it commits."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def _commit(self, batch):
        self.batches.append(len(batch))
        super()._commit(batch)


@pytest.fixture
def writes(monkeypatch):
    gc = Recording()
    monkeypatch.setattr(intake, "_writes", gc)
    return gc


@pytest.fixture
def flow(make_flow):
    return make_flow([{"id": "f", "operation": "flow.formatter", "inputs": {"value": "x", "transform": "lower"}}])


def _in_thread(fn, answers, key):
    def target():
        try:
            answers[key] = fn()
        except Exception as exc:  # the test looks at what each caller got
            answers[key] = exc
        finally:
            from django.db import connections
            connections.close_all()

    t = threading.Thread(target=target)
    t.start()
    return t


def _hold_the_writer(gc):
    """Start a write that stays open until released, so the next callers queue behind it."""
    release, answers = threading.Event(), {}
    t = _in_thread(lambda: gc.run(lambda: release.wait(10) and "held"), answers, "held")
    _wait_for(lambda: gc.leading)
    return release, t, answers


def _wait_for(cond, timeout=10):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _deliver(flow, delivery_id):
    return lambda: intake.accept(flow, b'{"email": "a@b.co"}', {"content-type": "application/json",
                                                                "webhook-id": delivery_id}, {})


def test_deliveries_arriving_during_a_write_are_committed_together(writes, flow):
    release, holder, answers = _hold_the_writer(writes)
    threads = [_in_thread(_deliver(flow, f"evt_{i}"), answers, i) for i in range(6)]
    _wait_for(lambda: len(writes.pending) == 6)
    assert Run.objects.count() == 0  # queued, not stored, not answered
    assert all(i not in answers for i in range(6))
    release.set()
    for t in [holder, *threads]:
        t.join(10)
    assert answers["held"] == "held"
    assert writes.batches == [1, 6]
    runs = {answers[i]["run_id"] for i in range(6)}
    assert all(answers[i]["status"] == "accepted" for i in range(6)) and len(runs) == 6
    assert set(Run.objects.values_list("pk", flat=True)) == runs
    assert sorted(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == [f"evt_{i}" for i in range(6)]


def test_a_duplicate_in_a_batch_fails_alone(writes, flow):
    first = intake.accept(flow, b"{}", {"content-type": "application/json", "webhook-id": "evt_old"}, {})
    release, holder, answers = _hold_the_writer(writes)
    ids = ["evt_a", "evt_old", "evt_b", "evt_a", "evt_c"]
    threads = []
    for i, did in enumerate(ids):
        threads.append(_in_thread(_deliver(flow, did), answers, i))
        _wait_for(lambda: len(writes.pending) == i + 1)  # queued in this order
    release.set()
    for t in [holder, *threads]:
        t.join(10)
    assert writes.batches[-1] == 5  # tried together, then each on its own
    assert [answers[i]["status"] for i in range(5)] == ["accepted", "duplicate", "accepted", "duplicate", "accepted"]
    assert answers[1]["run_id"] == first["run_id"] and answers[3]["run_id"] == answers[0]["run_id"]
    assert Run.objects.count() == 4 and WebhookDelivery.objects.count() == 4


def test_a_database_failure_reaches_every_write_of_the_batch_and_stores_none(flow):
    gc = Recording()
    release, holder, answers = _hold_the_writer(gc)

    def store(n):
        def fn():
            run = Run.objects.create(workspace_id=flow.workspace_id, flow=flow, version_id=flow.published_id,
                                     source="webhook", trigger_payload={"n": n})
            if n == 2:
                with connection.cursor() as c:
                    c.execute("SELECT * FROM a_table_that_is_not_there")
            return run.pk
        return fn

    threads = [_in_thread(lambda n=n: gc.run(store(n)), answers, n) for n in range(4)]
    _wait_for(lambda: len(gc.pending) == 4)
    release.set()
    for t in [holder, *threads]:
        t.join(10)
    assert gc.batches == [1, 4]
    assert all(isinstance(answers[n], DatabaseError) for n in range(4))
    assert Run.objects.count() == 0


def test_a_caller_inside_a_transaction_writes_in_it(flow):
    gc = Recording()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            gc.run(lambda: Run.objects.create(workspace_id=flow.workspace_id, flow=flow, version_id=flow.published_id,
                                              source="webhook", trigger_payload={}))
            assert Run.objects.count() == 1
            raise RuntimeError("roll back")
    assert Run.objects.count() == 0 and gc.batches == []


def test_one_caller_alone_is_its_own_batch(writes, flow):
    answer = _deliver(flow, "evt_1")()
    assert answer["status"] == "accepted" and writes.batches == [1]
    assert WebhookDelivery.objects.get(delivery_id="evt_1").run_id == answer["run_id"]
