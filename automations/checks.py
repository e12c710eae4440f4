"""Start-up checks: refuse to run with a broken embedded database or unusable encryption keys."""
from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.database, deploy=False)
def encryption_keys(app_configs, **kwargs):
    from .crypto import check_keys

    problem = check_keys()
    return [Error(problem, id="flowline.E001")] if problem else []


@register(Tags.database)
def sqlite_pragmas(app_configs, databases=None, **kwargs):
    errors = []
    from django.db import connections

    for alias in databases or []:
        conn = connections[alias]
        if conn.vendor != "sqlite" or conn.settings_dict["NAME"] in (":memory:", "") or "mode=memory" in str(conn.settings_dict["NAME"]):
            continue
        with conn.cursor() as c:
            mode = c.execute("PRAGMA journal_mode").fetchone()[0]
            busy = c.execute("PRAGMA busy_timeout").fetchone()[0]
        if mode != "wal" or busy < 20000:
            errors.append(Error(f"SQLite database {alias!r} must use WAL and busy_timeout>=20000 (got {mode}, {busy})", id="flowline.E002"))
    return errors
