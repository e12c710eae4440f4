from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "automations"
    verbose_name = "Flowline"

    def ready(self):
        from django_q.signals import post_spawn

        from . import checks  # noqa: F401  (system checks: SQLite pragmas, encryption keys)
        from . import pump, ticker

        post_spawn.connect(pump.start_in_worker, dispatch_uid="flowline-pump")  # each worker process pumps runs
        post_spawn.connect(ticker.start_in_worker, dispatch_uid="flowline-ticker")  # ... and one per host ticks
