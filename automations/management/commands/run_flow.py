import json

from django.core.management.base import BaseCommand, CommandError

from automations.engine import execute_run, start_run
from automations.models import Flow, Run
from automations.serializers import run_as_dict


class Command(BaseCommand):
    help = "Run a flow now, in this process, and print the run (with its steps) as JSON."

    def add_arguments(self, parser):
        parser.add_argument("flow", type=int)
        parser.add_argument("--payload", default="{}", help="trigger data as JSON")

    def handle(self, *args, flow, payload, **options):
        f = Flow.objects.filter(pk=flow).select_related("published").first()
        if f is None or f.published is None:
            raise CommandError(f"No published flow {flow}")
        try:
            data = json.loads(payload)
        except ValueError as exc:
            raise CommandError(f"--payload is not JSON: {exc}") from None
        run = start_run(f, data, source="manual")
        import time

        # Run to the end in this process; waits (retries, delays) are honoured by sleeping here.
        while True:
            if execute_run(run.pk) is None:  # a running worker took it first: wait for it
                time.sleep(0.2)
            run.refresh_from_db()
            if run.status not in Run.ACTIVE:
                break
            if run.due_at:
                from django.utils import timezone

                time.sleep(max(0.0, (run.due_at - timezone.now()).total_seconds()))
        self.stdout.write(json.dumps(run_as_dict(run), indent=2, default=str))
