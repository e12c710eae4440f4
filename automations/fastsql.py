"""Single-row INSERT and UPDATE with the SQL text built once: the writes of a webhook and of a run's steps.

Django compiles every ORM query from scratch. On the hot path (a webhook's run and delivery, a step's
"running" marker and its outcome) that compilation was about a fifth of the CPU spent per run
(cProfile of the intake and of the pump, issue 11's notes). These helpers build the SQL text once per
model, field list and database, and per call only convert the values, with the fields' own
conversions (`pre_save`, then `get_db_prep_save`), so a row written here is the row `Model.save()`
writes: same columns, same defaults, same JSON and date encoding, `auto_now` honoured.

A model with pre_save/post_save receivers goes through `save()` (the signals must run).

`insert_row` writes a row from a dict of values, without a model instance: the webhook's run and
delivery (building the instances and preparing their constant defaults again for every webhook was
about a sixth of a webhook's instructions, issue 11's notes).

Statements run on the driver's own cursor of Django's connection, inside its transactions, with the
checks Django's cursor makes first, its error classes and its query log (Django's cursor wrappers
and SQLite placeholder conversion, per call, were another eighth). On PostgreSQL they are server-side
prepared (psycopg's `prepare=True`): PostgreSQL parses and plans each once per connection, and the
values travel as parameters instead of being quoted into the text by the client.
"""
from __future__ import annotations

from contextlib import nullcontext

from django.db import DatabaseError, connections, router
from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import signals

_sql: dict[tuple, tuple[str, list]] = {}


def _plain(model) -> bool:
    return not (signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model))


def insert(obj):
    """INSERT `obj` (a new instance, pk not set) and set its pk, as `obj.save(force_insert=True)` does."""
    model = type(obj)
    alias = router.db_for_write(model, instance=obj)
    conn = connections[alias]
    if obj.pk is not None or not _returns_pk(model, conn) or not _plain(model):
        obj.save(force_insert=True, using=alias)
        return obj
    sql, fields = _insert_sql(model, alias, conn)
    obj._prepare_related_fields_for_save(operation_name="save")
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection=conn) for f in fields]
    pk = execute(conn, sql, params, fetch="one")[0]
    setattr(obj, model._meta.pk.attname, model._meta.pk.to_python(pk))
    obj._state.adding, obj._state.db = False, alias
    return obj


def _returns_pk(model, conn) -> bool:
    return model._meta.auto_field is not None and conn.features.can_return_columns_from_insert


def _insert_sql(model, alias, conn) -> tuple[str, list]:
    """INSERT of every column but the auto pk, RETURNING the pk; and those fields (built once)."""
    key = ("insert", model, alias)
    if key not in _sql:
        meta, qn = model._meta, conn.ops.quote_name
        fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
        _sql[key] = (f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
                     f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {qn(meta.pk.column)}", fields)
    return _sql[key]


def insert_row(model, **values):
    """INSERT one row of `model` from `values` (by attname: `flow_id`, not `flow`; every other field gets
    its default), as `model(**values).save(force_insert=True)` writes it, without building the instance.
    Returns the pk. For the intake's two rows per webhook: the SQL text and the database form of each
    constant default are computed once per model, value names and database."""
    alias = router.db_for_write(model)
    conn = connections[alias]
    key = ("row", model, alias, tuple(values))
    if key not in _sql:
        _sql[key] = _row_plan(model, alias, conn, values)
    sql, columns = _sql[key]
    if sql is None or not _plain(model):  # this model needs its instance (auto_now, no RETURNING, save signals)
        return insert(model(**values)).pk
    params = [f.get_db_prep_save(values[f.attname], connection=conn) if how is _GIVEN
              else f.get_db_prep_save(f.get_default(), connection=conn) if how is _DEFAULT else how
              for f, how in columns]
    return model._meta.pk.to_python(execute(conn, sql, params, fetch="one")[0])


_GIVEN, _DEFAULT = object(), object()
_CONSTANT = (str, int, float, bool, bytes, type(None))


def _row_plan(model, alias, conn, values) -> tuple:
    """(INSERT sql, [(field, _GIVEN | _DEFAULT | the default's constant database value)]), or (None, None)."""
    if not _returns_pk(model, conn):
        return None, None
    sql, fields = _insert_sql(model, alias, conn)
    if set(values) - {f.attname for f in fields} or any(getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
                                                       for f in fields):
        return None, None
    columns = []
    for f in fields:
        if f.attname in values:
            columns.append((f, _GIVEN))
        elif f.has_default() and callable(f.default):  # timezone.now, dict, ...: a fresh value per row
            columns.append((f, _DEFAULT))
        else:
            constant = f.get_db_prep_save(f.get_default(), connection=conn)
            columns.append((f, constant if isinstance(constant, _CONSTANT) else _DEFAULT))
    return sql, columns


def update(obj, field_names=None) -> int:
    """UPDATE the row of `obj` (already saved) with its current values of `field_names` (default: every
    field), as `obj.save(update_fields=field_names)` does. Returns the number of rows updated."""
    model = type(obj)
    alias = obj._state.db or router.db_for_write(model, instance=obj)
    conn = connections[alias]
    names = tuple(field_names) if field_names is not None else None
    if not _plain(model):
        obj.save(update_fields=names, using=alias)
        return 1
    key = ("update", model, alias, names)
    if key not in _sql:
        meta, qn = model._meta, conn.ops.quote_name
        fields = ([meta.get_field(n) for n in names] if names is not None
                  else [f for f in meta.local_concrete_fields if not f.primary_key])
        _sql[key] = (f"UPDATE {qn(meta.db_table)} SET {', '.join(f'{qn(f.column)} = %s' for f in fields)} "
                     f"WHERE {qn(meta.pk.column)} = %s", fields)
    sql, fields = _sql[key]
    params = [f.get_db_prep_save(f.pre_save(obj, False), connection=conn) for f in fields]
    updated = execute(conn, sql, params + [obj.pk])
    if not updated and names is not None:
        raise DatabaseError("Save with update_fields did not affect any rows.")  # as save(update_fields=...)
    return updated


def update_where(model, where: dict, values: dict) -> int:
    """`model.objects.filter(**where).update(**values)` for equality conditions on columns (no None) and
    plain values (no expressions). Returns the number of rows updated."""
    alias = router.db_for_write(model)
    conn = connections[alias]
    key = ("where", model, alias, tuple(where), tuple(values))
    if key not in _sql:
        meta, qn = model._meta, conn.ops.quote_name
        sets, conds = [meta.get_field(n) for n in values], [meta.get_field(n) for n in where]
        _sql[key] = (f"UPDATE {qn(meta.db_table)} SET {', '.join(f'{qn(f.column)} = %s' for f in sets)} "
                     f"WHERE {' AND '.join(f'{qn(f.column)} = %s' for f in conds)}", (sets, conds))
    sql, (sets, conds) = _sql[key]
    if any(v is None for v in where.values()) or any(hasattr(v, "resolve_expression") for v in values.values()):
        raise ValueError("update_where takes equality conditions and plain values")
    params = [f.get_db_prep_save(values[f.name], connection=conn) for f in sets]
    params += [f.get_db_prep_value(where[f.name], conn, prepared=False) for f in conds]
    return execute(conn, sql, params)


def execute(conn, sql: str, params: list, fetch: str = ""):
    """Run one statement of the hot path on Django's connection `conn`, with the checks, error classes and
    query log of Django's cursor, on the driver's own cursor: on SQLite without converting the placeholders
    again on every call, on PostgreSQL prepared. Returns the first row (`fetch="one"`), all rows
    (`fetch="all"`) or the row count."""
    if conn.execute_wrappers or conn.vendor not in ("sqlite", "postgresql"):
        with conn.cursor() as cursor:  # what `connection.execute_wrapper()` installed runs around it
            cursor.execute(sql, params)
            return _result(cursor, fetch)
    conn.close_if_health_check_failed()  # what Django's cursor() and execute() check first
    conn.ensure_connection()
    conn.validate_thread_sharing()
    conn.validate_no_broken_transaction()
    if conn.vendor == "sqlite":
        cursor, text, options = conn.connection.cursor(), _qmark.get(sql) or _to_qmark(sql), {}
    else:
        from psycopg import Cursor  # Django's connection makes client-side binding cursors, which cannot prepare

        cursor, text, options = Cursor(conn.connection), sql, {"prepare": True}
    try:
        logged = CursorDebugWrapper(cursor, conn).debug_sql(sql, params) if conn.queries_logged else nullcontext()
        with logged, conn.wrap_database_errors:  # the driver's errors as django.db's (IntegrityError, OperationalError...)
            cursor.execute(text, params, **options)
            return _result(cursor, fetch)
    finally:
        cursor.close()


_qmark: dict[str, str] = {}


def _to_qmark(sql: str) -> str:
    """SQLite's placeholders, as Django's SQLite cursor converts them."""
    _qmark[sql] = FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")
    return _qmark[sql]


def _result(cursor, fetch: str):
    return cursor.fetchone() if fetch == "one" else cursor.fetchall() if fetch == "all" else cursor.rowcount


def save(obj):
    """`insert` for a new instance, else `update` of every field."""
    if obj._state.adding and obj.pk is None:
        return insert(obj)
    if not update(obj):  # the row is gone: save() would insert it again, so let it
        obj.save()
    return obj
