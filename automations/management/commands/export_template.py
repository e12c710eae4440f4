import json

from django.core.management.base import BaseCommand, CommandError

from automations.agency import export_template
from automations.models import FlowTemplate


class Command(BaseCommand):
    help = "Print an agency template as JSON (format flowline.template/1, without secrets or client bindings)."

    def add_arguments(self, parser):
        parser.add_argument("template", type=int, help="template id")
        parser.add_argument("--number", type=int, dest="number", help="version number (default: the latest)")
        parser.add_argument("--output", "-o", help="write to this file instead of stdout")

    def handle(self, *args, template, number=None, output=None, **options):
        t = FlowTemplate.objects.filter(pk=template).first()
        version = t and (t.versions.filter(number=number).first() if number else t.latest)
        if version is None:
            raise CommandError(f"No template {template}" + (f" version {number}" if number else ""))
        text = json.dumps(export_template(version), indent=2, sort_keys=True)
        if output:
            with open(output, "w") as fh:
                fh.write(text + "\n")
        else:
            self.stdout.write(text)
