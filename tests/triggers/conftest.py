"""Fixtures for trigger tests: a catalogue with the fake CRM and the GoHighLevel instant events, a
polling flow, and a scripted item source standing in for the connector executor."""
import random
from datetime import datetime, timedelta, timezone

import pytest

from automations.models import Run, TriggerState
from automations.triggers import sync_state
from connectors import registry

MODULES = ["automations.builtin", "connectors.builtin", "tests.triggers.fakeapp", "automations.ghl_events"]


def _reset_registry():
    registry._apps.clear()
    registry._ops.clear()


@pytest.fixture
def catalogue(settings):
    settings.FLOWLINE_APP_MODULES = MODULES
    _reset_registry()
    yield
    _reset_registry()


STEPS = [{"id": "s1", "operation": "flow.formatter", "inputs": {"value": "{{ trigger.id }}", "transform": "lower"}}]


@pytest.fixture
def poll_flow(catalogue, make_flow):
    def make(operation="fakecrm.new_contact", poll=None, filter=None, enabled=True, **kw):
        trigger = {"operation": operation, "inputs": {}, "poll": poll or {"interval_minutes": 5}}
        if filter:
            trigger["filter"] = filter
        flow = make_flow(STEPS, trigger=trigger, enabled=enabled, **kw)
        sync_state(flow)
        return flow

    return make


def state_of(flow):
    return TriggerState.objects.get(flow=flow)


def runs_by_key(flow):
    keys = list(Run.objects.filter(flow=flow).values_list("dedupe_key", flat=True))
    return {k: keys.count(k) for k in keys}


T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Source:
    """A scripted list endpoint. `items` is newest first; `fetch` pages it (page size 10) and can
    insert new items between pages (offset shift) or shuffle the order."""

    def __init__(self, seed=0, page_size=10):
        self.items, self.rng, self.page_size, self.n = [], random.Random(seed), page_size, 0
        self.between_pages = None  # callable(page number) run after each page

    def new(self, count=1, position="top"):
        made = []
        for _ in range(count):
            self.n += 1
            item = {"id": f"c{self.n}", "dateAdded": (T0 + timedelta(seconds=self.n)).isoformat(), "n": self.n}
            at = 0 if position == "top" else self.rng.randint(0, len(self.items))
            self.items.insert(at, item)
            made.append(item)
        return made

    def fetch(self, flow, trigger, op, limit):
        out, offset, page = [], 0, 0
        while offset < len(self.items) and len(out) < limit:
            out.extend(dict(i) for i in self.items[offset:offset + self.page_size])
            offset += self.page_size
            if self.between_pages:
                self.between_pages(page)
            page += 1
        return out[:limit]
