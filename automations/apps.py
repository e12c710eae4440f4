from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "automations"
    verbose_name = "Flowline"

    def ready(self):
        from . import checks  # noqa: F401  (system checks: SQLite pragmas, encryption keys)
