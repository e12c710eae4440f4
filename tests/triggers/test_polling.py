"""Polling triggers: each new item fires exactly once (reliability.md 3.D), oldest first, across
republishing, floods, downtime and concurrent polls."""
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from automations import polling, ticker
from automations.flows import publish
from automations.models import HeldBatch, PollLog, Run, SeenItem, TriggerState
from automations.triggers import fire, sync_state

from .conftest import Source, runs_by_key, state_of


def do_poll(flow, source, **kw):
    flow.refresh_from_db()
    return polling.poll(flow, state_of(flow), fetch=source.fetch, **kw)


def expected(items):
    return {f"poll:{i['id']}": 1 for i in items}


def test_first_poll_seeds_10000_existing_items_and_fires_nothing(poll_flow, settings):  # D3
    settings.POLL_MAX_ITEMS = 20_000
    flow, source = poll_flow(), Source()
    source.new(10_000)
    started = time.monotonic()
    entry = do_poll(flow, source)
    assert time.monotonic() - started < 30
    assert entry.seeded and entry.seen == 10_000 and entry.fired == 0 and not entry.error
    assert Run.objects.filter(flow=flow).count() == 0
    assert SeenItem.objects.filter(trigger_state__flow=flow).count() == 10_000  # never fewer than the last poll
    fresh = source.new(2)
    entry = do_poll(flow, source)
    assert not entry.seeded and entry.new == 2 and runs_by_key(flow) == expected(fresh)
    assert do_poll(flow, source).new == 0


def test_new_items_fire_oldest_first(poll_flow):
    flow, source = poll_flow(), Source()
    source.new(3)
    do_poll(flow, source)
    source.new(4)
    do_poll(flow, source)
    assert [r.trigger_payload["n"] for r in Run.objects.filter(flow=flow).order_by("id")] == [4, 5, 6, 7]


def test_random_order_and_random_inserts_over_1000_polls(poll_flow):  # D1
    flow, source = poll_flow(), Source(seed=1)
    source.new(50)
    do_poll(flow, source)
    created = []
    for _ in range(1000):
        fresh = source.new(source.rng.randint(0, 3))
        created += fresh
        window = [i for i in source.items[len(fresh):50]]  # the 50 newest, in random order...
        source.rng.shuffle(window)
        for item in fresh:  # ...with the new ones inserted at random positions
            window.insert(source.rng.randint(0, len(window)), item)

        def fetch(flow, trigger, op, limit, window=window):
            return [dict(i) for i in window]

        polling.poll(flow, state_of(flow), fetch=fetch)
    assert len(created) > 1000 and runs_by_key(flow) == expected(created)
    assert PollLog.objects.filter(flow=flow).count() == 1001


def test_items_inserted_between_pages_fire_once(poll_flow):  # D2
    flow, source = poll_flow(), Source(seed=2)
    source.new(35)
    do_poll(flow, source)
    created = []

    def insert(page):  # while the poller pages: new items at the top or anywhere (offsets shift)
        if page < 3:
            created.extend(source.new(source.rng.randint(0, 2), position=source.rng.choice(["top", "random"])))

    source.between_pages = insert
    for _ in range(300):
        do_poll(flow, source)
    source.between_pages = None
    do_poll(flow, source)  # a last quiet poll picks up items inserted during the previous one
    assert runs_by_key(flow) == expected(created)


def test_republishing_keeps_the_cursor(poll_flow):
    flow, source = poll_flow(), Source()
    source.new(20)
    do_poll(flow, source)
    first = source.new(2)
    do_poll(flow, source)
    flow.draft = {**flow.draft, "steps": flow.draft["steps"] + [
        {"id": "s2", "operation": "flow.formatter", "inputs": {"value": "x", "transform": "upper"}}]}
    flow.save()
    publish(flow)
    assert state_of(flow).cursor["seeded"]
    assert do_poll(flow, source).new == 0
    second = source.new(1)
    do_poll(flow, source)
    assert runs_by_key(flow) == expected(first + second)


def test_a_changed_trigger_reseeds_instead_of_replaying(poll_flow):
    flow, source = poll_flow(), Source()
    source.new(20)
    do_poll(flow, source)
    flow.draft["trigger"]["inputs"] = {"pipeline": "other"}
    flow.save()
    publish(flow)
    source.new(30)
    entry = do_poll(flow, source)
    assert entry.seeded and Run.objects.filter(flow=flow).count() == 0


def test_switching_off_and_on_seeds_afresh(poll_flow):
    flow, source = poll_flow(), Source()
    source.new(5)
    do_poll(flow, source)
    flow.enabled = False
    flow.save()
    sync_state(flow)
    source.new(5)  # arrived while off
    flow.enabled = True
    flow.save()
    state = sync_state(flow)
    assert state.next_at <= timezone.now()  # the seeding poll runs at once
    assert do_poll(flow, source).seeded and Run.objects.filter(flow=flow).count() == 0


def test_start_from_a_date_fires_items_since_then(poll_flow):
    flow, source = poll_flow(), Source()
    items = source.new(10)
    polling.restart_from(flow, items[6]["dateAdded"])
    entry = do_poll(flow, source)
    assert entry.seeded and runs_by_key(flow) == expected(items[6:])
    assert "start_from" not in state_of(flow).cursor
    polling.restart_from(flow, items[0]["dateAdded"])  # again, earlier: runs already made are not repeated
    do_poll(flow, source)
    assert runs_by_key(flow) == expected(items)


def test_updated_trigger_fires_once_per_id_and_time(poll_flow):  # D5
    flow = poll_flow("fakecrm.updated_contact")
    rows = {"a": {"id": "a", "dateUpdated": "2026-01-01T00:00:00Z"}, "b": {"id": "b", "dateUpdated": "2026-01-01T00:00:00Z"}}

    def fetch(*_):
        return [dict(r) for r in rows.values()]

    polling.poll(flow, state_of(flow), fetch=fetch)
    for stamp in ("2026-01-02T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"):
        rows["a"]["dateUpdated"] = stamp
        polling.poll(flow, state_of(flow), fetch=fetch)
        polling.poll(flow, state_of(flow), fetch=fetch)
    assert runs_by_key(flow) == {"poll:a@2026-01-02T00:00:00Z": 1, "poll:a@2026-01-03T00:00:00Z": 1}


def test_items_without_a_time_field_fire_in_reverse_api_order(poll_flow):
    flow = poll_flow("fakecrm.new_tag")
    tags = [{"name": "old"}]
    polling.poll(flow, state_of(flow), fetch=lambda *_: list(tags))
    tags[:0] = [{"name": "newest"}, {"name": "newer"}]
    polling.poll(flow, state_of(flow), fetch=lambda *_: list(tags))
    assert [r.trigger_payload["name"] for r in Run.objects.filter(flow=flow).order_by("id")] == ["newer", "newest"]


def test_flood_is_held_then_released(poll_flow):  # D4
    flow, source = poll_flow(), Source()
    source.new(5)
    do_poll(flow, source)
    flood = source.new(250)
    entry = do_poll(flow, source)
    assert entry.held == 250 and Run.objects.filter(flow=flow).count() == 0
    assert do_poll(flow, source).new == 0  # held items are not held again
    batch = HeldBatch.objects.get(flow=flow)
    assert batch.count == 250 and [e["item"]["n"] for e in batch.items] == sorted(i["n"] for i in flood)
    assert polling.release(batch) == 250 and polling.release(batch) == 0
    assert runs_by_key(flow) == expected(flood)


def test_flood_discarded_makes_no_runs(poll_flow):
    flow, source = poll_flow(), Source()
    flow.options = {"flood_threshold": 10}
    flow.save()
    do_poll(flow, source)
    source.new(11)
    do_poll(flow, source)
    batch = HeldBatch.objects.get(flow=flow)
    assert polling.discard(batch) and not polling.discard(batch)
    assert polling.release(HeldBatch.objects.get(pk=batch.pk)) == 0
    do_poll(flow, source)
    assert Run.objects.filter(flow=flow).count() == 0 and HeldBatch.objects.get().status == "discarded"


def test_trigger_filter_drops_items_at_the_source(poll_flow):
    flow = poll_flow(filter={"any": [{"all": [{"left": "{{ trigger.tags }}", "op": "contains", "right": "vip"}]}]})
    items = []
    polling.poll(flow, state_of(flow), fetch=lambda *_: list(items))
    items[:0] = [{"id": "1", "dateAdded": "2026-01-01T00:00:01Z", "tags": ["vip"]},
                 {"id": "2", "dateAdded": "2026-01-01T00:00:02Z", "tags": ["lead"]}]
    entry = polling.poll(flow, state_of(flow), fetch=lambda *_: list(items))
    assert entry.new == 2 and entry.fired == 1 and runs_by_key(flow) == {"poll:1": 1}
    assert polling.poll(flow, state_of(flow), fetch=lambda *_: list(items)).new == 0


def test_a_poll_that_is_still_running_is_not_started_twice(poll_flow):
    flow, source = poll_flow(), Source()
    inner = []

    def fetch(*args):
        inner.append(polling.poll(flow, state_of(flow), fetch=source.fetch))
        return source.fetch(*args)

    entry = polling.poll(flow, state_of(flow), fetch=fetch)
    assert inner == [None] and entry.finished and PollLog.objects.filter(flow=flow).count() == 1
    # a poll whose worker died long ago does not block forever
    PollLog.objects.create(workspace=flow.workspace, flow=flow, started=timezone.now() - timedelta(hours=1))
    assert do_poll(flow, source) is not None
    assert PollLog.objects.filter(flow=flow, finished__isnull=True).count() == 0


def test_a_failed_fetch_is_logged_and_retried_soon(poll_flow, monkeypatch):
    flow = poll_flow()

    def broken(*_):
        raise RuntimeError("upstream said 502")

    monkeypatch.setattr(polling, "default_fetch", broken)
    TriggerState.objects.filter(flow=flow).update(next_at=timezone.now() - timedelta(seconds=1))
    fire(flow.pk)
    state, entry = state_of(flow), PollLog.objects.get(flow=flow)
    assert entry.error == "upstream said 502" and entry.finished and "502" in state.last_error
    assert state.lease_until is None and state.next_at < timezone.now() + timedelta(minutes=2)


def test_after_downtime_one_catch_up_poll_then_the_next_slot_from_now(poll_flow, monkeypatch):  # B7
    flow, source = poll_flow(poll={"interval_minutes": 5}), Source()
    source.new(3)
    monkeypatch.setattr(polling, "default_fetch", source.fetch)
    sent = []
    monkeypatch.setattr("automations.tasks.enqueue_trigger", sent.append)
    TriggerState.objects.filter(flow=flow).update(next_at=timezone.now() - timedelta(hours=3))
    for _ in range(5):  # several ticks while the poll has not run yet: claimed once
        ticker.tick()
    assert sent == [flow.pk]
    fire(flow.pk)
    for _ in range(5):
        ticker.tick()
    assert sent == [flow.pk] and PollLog.objects.filter(flow=flow).count() == 1
    nxt = state_of(flow).next_at - timezone.now()
    assert timedelta(minutes=4) < nxt <= timedelta(minutes=5)


def test_poll_interval_defaults_to_5_and_is_clamped(catalogue):
    from automations.triggers import next_slot

    now = timezone.now()
    assert next_slot({"operation": "fakecrm.new_contact"}, now) == now + timedelta(minutes=5)
    assert next_slot({"operation": "fakecrm.new_contact", "poll": {"interval_minutes": 60}}, now) == now + timedelta(minutes=15)
    assert next_slot({"operation": "fakecrm.new_contact", "poll": {"interval_minutes": 0.2}}, now) == now + timedelta(minutes=1)
    assert next_slot({"operation": "webhook.catch_hook"}, now) is None


def test_seen_keys_are_bounded_but_keep_the_latest_poll(poll_flow, monkeypatch):
    monkeypatch.setattr(polling, "SEEN_KEEP", 30)
    flow, source = poll_flow(), Source()
    source.new(20)
    do_poll(flow, source)
    for _ in range(5):
        source.new(10)
        source.items = source.items[:20]  # the endpoint shows the 20 newest
        do_poll(flow, source)
    assert SeenItem.objects.filter(trigger_state__flow=flow).count() == 30
    assert Run.objects.filter(flow=flow).count() == 50


def test_sample_saves_up_to_5_recent_items(poll_flow):
    flow, source = poll_flow(), Source()
    source.new(12)
    flow.sample_data = {"steps": {"s1": {"value": "x"}}}
    flow.save()
    items = polling.sample(flow, fetch=source.fetch)
    flow.refresh_from_db()
    assert [i["n"] for i in items] == [12, 11, 10, 9, 8]
    assert flow.sample_data["items"] == items and flow.sample_data["trigger"]["n"] == 12
    assert flow.sample_data["steps"] == {"s1": {"value": "x"}} and flow.sample_data["fetched_at"]


@pytest.mark.parametrize("value, expected", [("2026-01-01T00:00:00Z", 1767225600.0), (1767225600000, 1767225600.0),
                                             ("1767225600", 1767225600.0), ("", None), ("soon", None), (True, None)])
def test_item_times(value, expected):
    assert polling.to_timestamp(value) == expected
