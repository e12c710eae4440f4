"""Delete runs older than each workspace's retention, trim oversized payloads, reclaim SQLite space."""
from django.core.management.base import BaseCommand

from automations.retention import prune_all, reclaim_space


class Command(BaseCommand):
    help = "Prune old runs (Workspace.retention_days) in batches, trim payloads over FLOWLINE_PAYLOAD_CAP, reclaim space."

    def add_arguments(self, parser):
        parser.add_argument("--no-vacuum", action="store_true", help="skip reclaiming space")
        parser.add_argument("--vacuum", action="store_true", help="force a full VACUUM now (SQLite; locks the file)")

    def handle(self, *args, **opts):
        result = prune_all(vacuum=not opts["no_vacuum"] and not opts["vacuum"])
        if opts["vacuum"]:
            result["space"] = reclaim_space(force_vacuum=True)
        total = sum(result["deleted"].values())
        self.stdout.write(f"Deleted {total} runs {result['deleted'] or ''}; trimmed {result['trimmed']} payloads; "
                          f"space: {result['space']}")
