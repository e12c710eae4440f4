"""`manage.py seed_demo`: a demo user, workspace and flows (idempotent; `make run` calls it)."""
from django.conf import settings
from django.core.management.base import BaseCommand

from automations.demo import ensure_demo


class Command(BaseCommand):
    help = "Create (or update) the demo user, workspace, connections and flows."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default=settings.PUBLIC_URL, help="where this server is reachable")

    def handle(self, *args, base_url, **options):
        info = ensure_demo(base_url.rstrip("/"))
        from django.contrib.auth import get_user_model

        from automations.demo_agency import ensure_agency_demo

        ensure_agency_demo(get_user_model().objects.get(username=info["username"]))
        self.stdout.write(f"Demo workspace {info['workspace']!r}: {info['flows']} flows; log in as "
                          f"{info['username']} / {info['password']}")
