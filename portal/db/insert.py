"""One model's INSERT, compiled by the ORM once per process instead of on every save.

``Model.objects.create()`` builds the same INSERT statement on every call; for an API
prediction that was ~6 % of the request's CPU (docs/benchmarks.md). :class:`CompiledInsert`
asks the ORM's own insert compiler for the statement once, then for each new instance only
prepares the values, with the compiler's own per-field preparation (``pre_save`` for
``auto_now_add``, ``get_db_prep_save`` for JSON, dates and keys), executes it in autocommit (the
INSERT is its own transaction, as ``create()`` outside ``atomic``), sets what the database
returned (the primary key) and sends ``pre_save``/``post_save`` like ``save()``.

Models whose fields need their own SQL placeholder (binary fields) are refused: their
statement depends on the values. :func:`insert_rows` is the bulk counterpart for rows whose
values are database-ready already.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import signals
from django.db.models.sql import InsertQuery


class CompiledInsert:
    def __init__(self, model: type[models.Model], alias: str = DEFAULT_DB_ALIAS):
        meta = model._meta
        self.model = model
        self.alias = alias
        self.fields = [
            field
            for field in meta.local_concrete_fields
            if not field.generated and field is not meta.auto_field
        ]
        refused = [field.name for field in self.fields if hasattr(field, "get_placeholder")]
        if refused:
            raise ImproperlyConfigured(f"{model.__name__}: fields with SQL placeholders {refused}")
        self.returning_fields = meta.db_returning_fields
        self._compiled = None

    def _compile(self, instance: models.Model):
        query = InsertQuery(self.model)
        query.insert_values(self.fields, [instance])
        compiler = query.get_compiler(self.alias)
        compiler.returning_fields = self.returning_fields
        [(statement, _params)] = compiler.as_sql()
        columns = [field.get_col(self.model._meta.db_table) for field in self.returning_fields]
        return compiler, statement, compiler.get_converters(columns)

    def save(self, instance: models.Model) -> models.Model:
        """INSERT a new instance and set its returned fields; the instance is then saved."""
        meta_kwargs = {"sender": self.model, "instance": instance, "raw": False}
        signals.pre_save.send(**meta_kwargs, using=self.alias, update_fields=None)
        instance._prepare_related_fields_for_save(operation_name="save")
        if self._compiled is None:
            self._compiled = self._compile(instance)
        compiler, statement, converters = self._compiled
        params = [
            compiler.prepare_value(field, compiler.pre_save_val(field, instance))
            for field in self.fields
        ]
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            row = connection.ops.fetch_returned_insert_columns(cursor, compiler.returning_params)
        if converters:
            [row] = compiler.apply_converters([row], converters)
        for value, field in zip(row, self.returning_fields, strict=True):
            setattr(instance, field.attname, value)
        instance._state.adding = False
        instance._state.db = self.alias
        signals.post_save.send(**meta_kwargs, created=True, update_fields=None, using=self.alias)
        return instance


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    conflict_target: Sequence[str] | None = None,
    connection: BaseDatabaseWrapper | None = None,
) -> None:
    """INSERT many rows of database-ready values (numbers, keys, text, datetimes adapted by
    ``connection.ops``) in one short statement.

    For bulk writes off the request path: ``bulk_create`` prepares every value of every row
    through the ORM and sends one placeholder per value, and psycopg re-parses a long statement
    on each call (it caches only short ones); both cost the exposure worker more than the
    insert itself. PostgreSQL gets one array per column (``INSERT … SELECT FROM unnest(…)``:
    one statement, one row set); other databases (SQLite, the embedded default) run the
    one-row statement for each row. ``conflict_target`` adds ``ON CONFLICT (…) DO NOTHING``.
    """
    if not rows:
        return
    connection = connection or connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    fields = {field.column: field for field in model._meta.concrete_fields}
    # The table, columns and types are the model's, quoted; every value is a parameter.
    table = quote(model._meta.db_table)
    names = ", ".join(quote(column) for column in columns)
    tail = ""
    if conflict_target:
        tail = f" ON CONFLICT ({', '.join(quote(c) for c in conflict_target)}) DO NOTHING"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{fields[column].db_type(connection)}[]" for column in columns)
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}){tail}",  # noqa: S608
                [list(values) for values in zip(*rows, strict=True)],
            )
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({placeholders}){tail}",  # noqa: S608
                rows,
            )
