"""Run one operation and print the response.

    manage.py call_operation gohighlevel.get_contact --connection 3 --input '{"contactId": "abc"}'
    manage.py call_operation gohighlevel.get_contact --base-url http://127.0.0.1:8000/sandbox/gohighlevel \\
        --token pit-xxx --location-id loc1 --input '{...}'
"""
import json
from contextlib import contextmanager

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from connectors import registry
from connectors.context import StepContext
from connectors.errors import StepError
from connectors.executor import execute


class AdHocCredentials:
    """A connection given on the command line (a token, no storage)."""

    id = 0
    auth_kind = "api_key"

    def __init__(self, app, token, config):
        self.app, self._secrets, self.config = app, {"api_key": token}, config

    def secrets(self):
        return dict(self._secrets)

    def update_secrets(self, values):
        self._secrets.update(values)

    @contextmanager
    def refresh_lock(self):
        yield self

    def mark_needs_reauth(self, message):
        pass


class Command(BaseCommand):
    help = "Call one operation with a saved connection (--connection) or a token (--base-url/--token)."

    def add_arguments(self, parser):
        parser.add_argument("key")
        parser.add_argument("--connection", type=int)
        parser.add_argument("--input", default="{}", help="JSON object of inputs")
        parser.add_argument("--base-url", default="")
        parser.add_argument("--token", default="")
        parser.add_argument("--location-id", default="")
        parser.add_argument("--company-id", default="")

    def handle(self, key, **o):
        try:
            op = registry.get_operation(key)
            inputs = json.loads(o["input"])
        except (LookupError, ValueError) as exc:
            raise CommandError(str(exc))
        if o["connection"]:
            creds = apps.get_model("automations", "Connection").objects.get(pk=o["connection"])
        elif o["token"]:
            config = {k: v for k, v in (("base_url", o["base_url"]), ("location_id", o["location_id"]),
                                        ("company_id", o["company_id"])) if v}
            creds = AdHocCredentials(op.app, o["token"], config)
        else:
            creds = None
        try:
            result = execute(op, StepContext(inputs=inputs, credentials=creds))
        except StepError as exc:
            body = (exc.response or {}).get("body")
            raise CommandError(f"{exc.category}: {exc.message}" + (f"\n{json.dumps(body, indent=1)}" if body else ""))
        self.stdout.write(json.dumps(result.output, indent=1, default=str))
