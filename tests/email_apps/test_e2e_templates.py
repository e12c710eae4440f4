"""Every gallery template imported into a fresh workspace, published, and run by a real qcluster
(`manage.py worker`) against the sandboxes served by a real web server; records checked on both sides."""
import json

import pytest

from tests.e2e.harness import Stack

from connectors.email_apps import gallery

pytestmark = pytest.mark.e2e


def test_every_template_runs_on_a_real_qcluster(tmp_path):
    stack = Stack(tmp_path)
    try:
        stack.start_web()
        stack.start_worker()
        slugs = [t["slug"] for t in gallery.TEMPLATES]
        out = stack.python(
            "import json; from automations.engine import start_run; from tests.email_apps.template_setup import setup; "
            f"ids = {{}}\nfor slug in {slugs!r}:\n"
            f"    flow, payload, account, location = setup(slug, {stack.url!r})\n"
            "    ids[slug] = [start_run(flow, payload).pk, account.pk if account else None, location.pk]\n"
            "print(json.dumps(ids))")
        ids = json.loads(out.strip().splitlines()[-1])
        run_ids = [v[0] for v in ids.values()]
        marks = ",".join("?" * len(run_ids))
        stack.wait_for(lambda: stack.sql(f"select count(*) from automations_run where id in ({marks}) and status in "
                                         "('succeeded','failed','halted')", *run_ids)[0][0] == len(run_ids),
                       timeout=180, what="every template run to finish")
        statuses = dict(stack.sql(f"select id, status from automations_run where id in ({marks})", *run_ids))
        failed = stack.sql(f"select r.id, s.path, s.error_message from automations_run r join automations_stepresult s "
                           f"on s.run_id = r.id where r.id in ({marks}) and s.status = 'failed'", *run_ids)
        assert all(s == "succeeded" for s in statuses.values()), failed
        checked = stack.python(
            "from connectors.sandbox.models import SandboxLocation; from automations.models import Flow; "
            "from tests.email_apps.test_templates import check_effects\n"
            f"for slug, (run, acc, loc) in {ids!r}.items():\n"
            "    check_effects(slug, None, SandboxLocation.objects.filter(pk=acc).first(), SandboxLocation.objects.get(pk=loc))\n"
            "print('checked', len(" + repr(ids) + "))")
        assert f"checked {len(ids)}" in checked
    finally:
        stack.close()
