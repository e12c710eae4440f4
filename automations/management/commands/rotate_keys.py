"""Re-encrypt every stored secret under the newest key (FLOWLINE_ENCRYPTION_KEYS[0]), in batches.

Rotation: put the new key first (keep the old one after it), deploy, run this, then drop the old key.
"""
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from automations import crypto
from automations.models import Connection

BATCH = 500


class Command(BaseCommand):
    help = "Re-encrypt all connection secrets with the newest encryption key."

    def handle(self, *args, **options):
        problem = crypto.check_keys()
        if problem:
            raise CommandError(problem)
        # issue 10: check every secret decrypts before writing any, so a wrong key changes nothing at all.
        bad = []
        for pk, blob in Connection.objects.exclude(secret_blob="").values_list("pk", "secret_blob").iterator(2000):
            try:
                crypto.decrypt(blob)
            except crypto.SecretError:
                bad.append(pk)
        if bad:
            raise CommandError(f"{len(bad)} connections (ids {', '.join(map(str, bad[:10]))}{'...' if len(bad) > 10 else ''}) "
                               "cannot be decrypted with FLOWLINE_ENCRYPTION_KEYS; nothing was changed. "
                               "Keep the old key in the list (after the new one) until rotation has run.")
        done, last = 0, 0
        while True:
            with transaction.atomic():
                rows = list(Connection.objects.filter(pk__gt=last).exclude(secret_blob="").order_by("pk")[:BATCH])
                if not rows:
                    break
                for c in rows:
                    try:
                        c.secret_blob = crypto.rotate(c.secret_blob)
                    except Exception as exc:
                        raise CommandError(f"connection {c.pk} cannot be decrypted with the configured keys; nothing after it was changed") from exc
                Connection.objects.bulk_update(rows, ["secret_blob"])
                done += len(rows)
                last = rows[-1].pk
        self.stdout.write(f"Re-encrypted {done} connections with the newest key.")
