import json
import sys

from django.core.management.base import BaseCommand, CommandError

from automations.agency import import_template
from automations.flows import FlowInvalid
from automations.models import Agency


class Command(BaseCommand):
    help = "Create an agency template (or a new version of one) from a template or flow JSON file (- for stdin)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--agency", type=int, required=True, help="agency id")
        parser.add_argument("--template", type=int, help="add a new version to this template of the agency")

    def handle(self, *args, file, agency, template=None, **options):
        a = Agency.objects.filter(pk=agency).first()
        if a is None:
            raise CommandError(f"No agency {agency}")
        t = a.templates.filter(pk=template).first() if template else None
        if template and t is None:
            raise CommandError(f"No template {template} in agency {agency}")
        data = json.load(sys.stdin if file == "-" else open(file))
        try:
            version = import_template(data, a, template=t)
        except FlowInvalid as exc:
            raise CommandError("Cannot import: " + "; ".join(exc.problems)) from None
        self.stdout.write(json.dumps({"template": version.template_id, "version": version.number}))
