"""Issue 4's end-to-end check: a flow "webhook in -> create contact -> add tag -> create task" run by
a real qcluster against the GoHighLevel sandbox over HTTP; the sandbox's state shows the result.
This is also the demo that `make run` loads (automations/demo.py)."""
import json

import httpx
import pytest

from .harness import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path)
    yield s
    s.close()


def test_webhook_to_contact_tag_and_task_against_the_sandbox(stack):
    out = stack.manage("seed_demo", "--base-url", stack.url)
    assert "demo / flowline-demo" in out
    stack.start_web()
    stack.start_worker()
    flow_id, token = stack.sql("select id, webhook_token from automations_flow where name like 'Website lead%'")[0]
    r = httpx.post(f"{stack.url}/hooks/{token}", json={"name": "Jane van Dyke", "email": " Jane@Example.COM ",
                                                       "phone": "(555) 010-2030"})
    assert r.status_code == 200, r.text
    run_id = r.json()["run_id"]
    stack.wait_for(lambda: stack.sql("select status from automations_run where id=?", run_id)[0][0]
                   in ("succeeded", "failed"), what="the run to finish")
    status, error = stack.sql("select status, error_message from automations_run where id=?", run_id)[0]
    assert status == "succeeded", error
    contact = json.loads(stack.sql("select output from automations_stepresult where run_id=? and path='s1'", run_id)[0][0])["contact"]
    assert contact["email"] == "jane@example.com" and contact["phone"] == "+15550102030"
    # the sandbox's own state: the contact carries the tag and has the follow-up task
    data = json.loads(stack.sql("select data from sandbox_sandboxrecord where kind='contact' and record_id=?", contact["id"])[0][0])
    assert "new lead" in data["tags"]
    tasks = [json.loads(d) for (d,) in stack.sql("select data from sandbox_sandboxrecord where kind='task' and parent_id=?", contact["id"])]
    assert [t["title"] for t in tasks] == ["Call Jane"]
    requests = stack.sql("select method, path, status from sandbox_sandboxrequest order by id")
    assert [(m, p.split("/")[-1] or p.split("/")[-2]) for m, p, _ in requests[-3:]] == [
        ("POST", "upsert"), ("POST", "tags"), ("POST", "tasks")]
    assert all(status in (200, 201) for _, _, status in requests[-3:])
