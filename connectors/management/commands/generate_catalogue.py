"""Regenerate connectors/gohighlevel/catalogue.json from the OpenAPI files (or --check it)."""
from django.core.management.base import BaseCommand, CommandError

from connectors.gohighlevel import generate


class Command(BaseCommand):
    help = "Generate the GoHighLevel operation catalogue from connectors/gohighlevel/openapi/."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Exit with an error when the committed file is stale")

    def handle(self, *args, check=False, **options):
        if check:
            if generate.is_stale():
                raise CommandError("catalogue.json is stale: run manage.py generate_catalogue")
            self.stdout.write("catalogue.json is up to date")
            return
        self.stdout.write(f"wrote {generate.write()} operations to {generate.CATALOGUE}")
