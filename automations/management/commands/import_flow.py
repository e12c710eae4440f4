import json
import sys

from django.core.management.base import BaseCommand, CommandError

from automations.flows import FlowInvalid, import_flow
from automations.models import Workspace


class Command(BaseCommand):
    help = "Create a flow from an exported JSON file (or - for stdin) in a workspace."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--workspace", required=True, help="workspace slug")
        parser.add_argument("--draft", action="store_true", help="import as a draft, do not publish")
        parser.add_argument("--enable", action="store_true", help="switch the flow on after importing")

    def handle(self, *args, file, workspace, draft=False, enable=False, **options):
        ws = Workspace.objects.filter(slug=workspace).first()
        if ws is None:
            raise CommandError(f"No workspace {workspace!r}")
        data = json.load(sys.stdin if file == "-" else open(file))
        try:
            flow, missing = import_flow(data, ws, publish_now=not draft)
        except FlowInvalid as exc:
            raise CommandError("Cannot import: " + "; ".join(exc.problems)) from None
        if enable and flow.published:
            from automations.triggers import sync_state

            flow.enabled = True
            flow.save(update_fields=["enabled"])
            sync_state(flow)
        for m in missing:
            self.stderr.write(f"missing connection: {m} (the flow was kept as a draft)")
        self.stdout.write(json.dumps({"flow": flow.pk, "published": bool(flow.published), "missing": missing}))
