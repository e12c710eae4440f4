"""``manage.py sandbox --port N [--host 127.0.0.1]``: serve only the GoHighLevel sandbox API on its
own port (threaded WSGI). It creates and migrates nothing: run ``manage.py migrate`` first, and
``manage.py sandbox_reset`` (or the UI) to create a seeded location and get its token."""
from django.conf import settings
from django.core.management.base import BaseCommand
from django.core.servers.basehttp import run
from django.core.wsgi import get_wsgi_application


class Command(BaseCommand):
    help = "Serve the GoHighLevel sandbox API alone on its own port."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port, host, **options):
        settings.ROOT_URLCONF = "connectors.sandbox.standalone_urls"
        app = get_wsgi_application()
        self.stdout.write(f"GoHighLevel sandbox listening on http://{host}:{port}", ending="\n")
        self.stdout.flush()
        run(host, port, app, threading=True)
