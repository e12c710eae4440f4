"""`manage.py worker`: a django-q2 qcluster plus Flowline's ticker (due runs, expired leases,
schedules). Run one per host; SIGTERM/SIGINT stop it gracefully."""
import time

from django.core.management.base import BaseCommand
from django.db import connections
from django_q.cluster import Cluster

from automations.ticker import Ticker


class Command(BaseCommand):
    help = "Start a Flowline worker: a django-q2 cluster and the ticker."

    def add_arguments(self, parser):
        parser.add_argument("--no-ticker", action="store_true", help="run the cluster only")

    def handle(self, *args, **options):
        connections.close_all()  # never share a database connection across fork
        cluster = Cluster()
        cluster.start()
        ticker = None
        if not options["no_ticker"]:
            ticker = Ticker()
            ticker.start()
        try:
            while cluster.sentinel and cluster.sentinel.is_alive():
                time.sleep(0.5)
        finally:
            if ticker:
                ticker.stop()
