"""``manage.py sandbox_reset [--location ID] [--create NAME]``: reset a sandbox location to the demo
data (every location when none is given; creates "Brightside Marketing" when there is none) and
print each location's id and tokens."""
from django.core.management.base import BaseCommand, CommandError

from connectors.sandbox import store
from connectors.sandbox.models import SandboxLocation


class Command(BaseCommand):
    help = "Reset sandbox locations to their demo data and print their tokens."

    def add_arguments(self, parser):
        parser.add_argument("--location", help="location id (default: all)")
        parser.add_argument("--create", metavar="NAME", help="create a new seeded location with this name")

    def handle(self, *args, location=None, create=None, **options):
        if create or not SandboxLocation.objects.exists():
            store.create_location(create or "Brightside Marketing")
        if location:
            locations = list(SandboxLocation.objects.filter(id=location))
            if not locations:
                raise CommandError(f"no sandbox location {location}")
        else:
            locations = list(SandboxLocation.objects.all())
        for loc in locations:
            store.reset(loc)
            self.stdout.write(f"{loc.id}  {loc.name}  (company {loc.company_id})")
            for t in loc.tokens.all():
                self.stdout.write(f"    {t.user_type:8} {t.token}")
