"""`manage.py worker`: a django-q2 qcluster plus Flowline's ticker (due runs, expired leases,
schedules). Run one per host; SIGTERM/SIGINT stop it gracefully."""
import signal
import threading
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
        # Our own SIGTERM/SIGINT handling: django-q2's stops the cluster inside the signal handler, and
        # blocks for ever when the sentinel was killed meanwhile (SIGTERM to the whole process group, as
        # `make run`'s Ctrl-C sends), leaving this process behind.
        # The handler only records the signal: it takes no lock (an Event's lock, taken again by a second
        # signal arriving inside the first handler, deadlocked the process), the loops below poll the flag.
        stopping = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: stopping.append(signum))
        ticker = None
        if not options["no_ticker"]:
            ticker = Ticker()
            ticker.start()
        try:
            while cluster.sentinel.is_alive() and not stopping:
                time.sleep(0.5)
            if cluster.sentinel.is_alive():  # a graceful stop: workers finish the runs in hand
                threading.Thread(target=cluster.stop, daemon=True).start()
                while cluster.sentinel.is_alive():
                    time.sleep(0.2)
        finally:
            if ticker:
                ticker.stop()
