import json

from django.core.management.base import BaseCommand, CommandError

from automations.flows import export_flow
from automations.models import Flow


class Command(BaseCommand):
    help = "Print a flow as JSON (format flowline.flow/1, without secrets)."

    def add_arguments(self, parser):
        parser.add_argument("flow", type=int, help="flow id")
        parser.add_argument("--output", "-o", help="write to this file instead of stdout")

    def handle(self, *args, flow, output=None, **options):
        f = Flow.objects.filter(pk=flow).select_related("published").first()
        if f is None:
            raise CommandError(f"No flow {flow}")
        text = json.dumps(export_flow(f), indent=2, sort_keys=True)
        if output:
            with open(output, "w") as fh:
                fh.write(text + "\n")
        else:
            self.stdout.write(text)
