from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "automations"
    verbose_name = "Flowline"

    def ready(self):
        from django_q.signals import post_spawn

        from . import checks  # noqa: F401  (system checks: SQLite pragmas, encryption keys)
        from .pump import start_in_worker

        post_spawn.connect(start_in_worker, dispatch_uid="flowline-pump")  # each worker process pumps runs
