"""List every operation: `manage.py catalogue [--app gohighlevel] [--json]`."""
import json

from django.core.management.base import BaseCommand

from connectors import registry


def describe(op) -> dict:
    return {"key": op.key, "app": op.app, "category": op.category, "kind": op.kind, "label": op.label,
            "description": op.description, "method": op.method if op.path else None,
            "path": op.path or None, "scopes": list(op.scopes), "required_inputs": [p.name for p in op.required_params],
            "curated": op.curated}


class Command(BaseCommand):
    help = "List operations (key, app, category, kind, label, method, path, scopes, required inputs, curated)."

    def add_arguments(self, parser):
        parser.add_argument("--app")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, app=None, **options):
        rows = [describe(op) for op in registry.operations(app)]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=1))
            return
        for r in rows:
            flag = "*" if r["curated"] else " "
            self.stdout.write(f"{flag} {r['key']:<60} {r['kind']:<8} {r['method'] or '':<6} {r['path'] or ''}")
        curated = [r for r in rows if r["curated"]]
        kinds = {k: sum(r["kind"] == k for r in curated) for k in sorted({r["kind"] for r in curated})}
        self.stdout.write(f"{len(rows)} operations, {len(curated)} curated"
                          + (" (" + ", ".join(f"{n} {k}{'es' if k.endswith('h') else 's'}" for k, n in kinds.items())
                             + f") in {len({r['category'] for r in curated})} categories" if curated else ""))
