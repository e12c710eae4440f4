"""Recount the dashboards' rollup from the runs (after an upgrade, or a workspace's time zone change)."""
import time

from django.core.management.base import BaseCommand, CommandError

from automations.models import Workspace
from automations.rollup import rebuild


class Command(BaseCommand):
    help = ("Recount RunRollup from the runs, for every local day from each workspace's oldest run to today "
            "(older days, whose runs were pruned, keep their counts).")

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="slug of one workspace (default: all)")

    def handle(self, *args, **opts):
        workspaces = Workspace.objects.order_by("pk")
        if opts["workspace"]:
            workspaces = workspaces.filter(slug=opts["workspace"])
            if not workspaces:
                raise CommandError(f"No workspace {opts['workspace']!r}")
        for ws in workspaces:
            t = time.perf_counter()
            rows = rebuild(ws)
            self.stdout.write(f"{ws.slug}: {rows} rollup rows in {time.perf_counter() - t:.1f} s")
