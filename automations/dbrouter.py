"""Route django-q2's ORM broker table to its own database alias (embedded mode only)."""
from django.conf import settings


class BrokerRouter:
    def _broker(self, model):
        return model._meta.app_label == "django_q" and model._meta.model_name == "ormq" and "broker" in settings.DATABASES

    def db_for_read(self, model, **hints):
        return "broker" if self._broker(model) else None

    db_for_write = db_for_read

    def allow_relation(self, a, b, **hints):
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == "broker" and "broker" in settings.DATABASES and settings.DATABASES["broker"] is not settings.DATABASES["default"]:
            return app_label == "django_q" and model_name == "ormq"
        if db == "default" and app_label == "django_q" and model_name == "ormq" and "broker" in settings.DATABASES:
            return False
        return None
