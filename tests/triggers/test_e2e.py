"""End to end with real processes: schedules on two qclusters fire once per slot; GoHighLevel
sandbox events reach an instant flow once each; concurrent duplicate deliveries make one run each."""
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.e2e.harness import Stack

pytestmark = pytest.mark.e2e
STEP = [{"id": "s1", "operation": "flow.formatter", "inputs": {"value": "x", "transform": "upper"}}]


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path)
    yield s
    s.close()


def _time(stack, moment: datetime):
    """A timestamp parameter as each database compares it (SQLite stores UTC text)."""
    return moment if stack.scaled else moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def test_schedule_fires_once_per_slot_on_two_clusters(stack):
    flow = stack.create_flow({"trigger": {"operation": "schedule.every", "inputs": {"interval_minutes": 1}}, "steps": STEP})
    stack.start_worker("w1")
    stack.start_worker("w2")
    slots = [datetime.now(timezone.utc) - timedelta(minutes=m, seconds=7) for m in (50, 40, 30, 20, 10)]
    for n, slot in enumerate(slots, 1):
        stack.sql("update automations_triggerstate set next_at=?, lease_until=null where flow_id=?", _time(stack, slot), flow["id"])
        stack.wait_for(lambda: stack.sql("select count(*) from automations_run where flow_id=?", flow["id"])[0][0] >= n,
                       timeout=20, what=f"slot {n} to fire")
        stack.wait_for(lambda: stack.sql("select next_at > ? from automations_triggerstate where flow_id=?",
                                         _time(stack, datetime.now(timezone.utc)), flow["id"])[0][0], timeout=20)
    time.sleep(2)  # both tickers keep running: nothing more may fire before the next real slot
    keys = [k for (k,) in stack.sql("select dedupe_key from automations_run where flow_id=?", flow["id"])]
    assert sorted(keys) == sorted(f"schedule:{s.isoformat()}" for s in slots)


def _sandbox_setup(stack, hook_url):
    code = (
        "import json; from connectors.sandbox.models import SandboxLocation, SandboxSubscription; "
        "from automations.models import Workspace, Connection; "
        "loc = SandboxLocation.objects.create(name='E2E clinic'); "
        f"SandboxSubscription.objects.create(location=loc, url={hook_url!r}, events=['ContactCreate']); "
        "ws, _ = Workspace.objects.get_or_create(slug='e2e', defaults={'name': 'E2E'}); "
        "c = Connection.objects.create(workspace=ws, app='gohighlevel', name='Sandbox', auth_kind='sandbox', "
        "config={'location_id': loc.id, 'sandbox': True}); "
        "print(json.dumps({'location': loc.id, 'connection': c.pk}))"
    )
    return json.loads(stack.python(code).strip().splitlines()[-1])


def test_sandbox_contacts_reach_an_instant_flow_once_each(stack):
    sandbox = _sandbox_setup(stack, stack.url + "/hooks/ghl/app")
    flow = stack.create_flow({"trigger": {"operation": "gohighlevel.event.ContactCreate", "connection": sandbox["connection"],
                                          "inputs": {}}, "steps": STEP}, name="New sandbox contact")
    stack.start_web()
    stack.start_worker()
    code = (
        "from connectors.sandbox.models import SandboxLocation; from connectors.sandbox import store, events; "
        f"loc = SandboxLocation.objects.get(pk={sandbox['location']!r}); "
        "[events.emit(loc, 'ContactCreate', store.put(loc, 'contact', {'id': f'ct{n}', 'email': f'p{n}@example.com', "
        "'firstName': f'P{n}', 'dateAdded': store.now_iso()}).data) for n in range(5)]"
    )
    stack.python(code)
    stack.wait_for(lambda: stack.sql("select count(*) from automations_run where flow_id=? and status='succeeded'",
                                     flow["id"])[0][0] == 5, what="5 runs")
    emails = sorted(json.loads(p)["email"] for (p,) in stack.sql(
        "select trigger_payload from automations_run where flow_id=?", flow["id"]))
    assert emails == [f"p{n}@example.com" for n in range(5)]
    statuses = stack.sql("select status from sandbox_sandboxevent")
    assert len(statuses) == 5 and all(s == 200 for (s,) in statuses)

    # 500 events, each sent 3 times concurrently to the flow's own URL: exactly 500 runs
    url = f"{stack.url}/hooks/ghl/{flow['token']}"
    bodies = [json.dumps({"type": "ContactCreate", "id": f"dup{n}", "webhookId": f"wh{n}"}) for n in range(500)]
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(lambda b: client.post(url, content=b, headers={"content-type": "application/json"}).status_code,
                              [b for b in bodies for _ in range(3)]))
    assert set(codes) == {200}
    assert stack.sql("select count(*) from automations_run where flow_id=? and dedupe_key like 'delivery:wh%'",
                     flow["id"])[0][0] == 500
