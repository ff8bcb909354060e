"""Database helpers shared by the apps."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models, router


def insert_many(model: type[models.Model], objs: Sequence[models.Model], *, chunk: int = 5000) -> None:
    """INSERT rows with ``COPY`` (PostgreSQL) or one prepared statement (``executemany``) instead
    of ``bulk_create``, whose per-batch SQL compilation dominates large imports.  Primary keys are not set on ``objs``; fields
    are prepared exactly as Django would (``pre_save`` + ``get_db_prep_save``)."""
    if not objs:
        return
    conn = connections[router.db_for_write(model)]
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]
    quote = conn.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields), ", ".join(["%s"] * len(fields))
    )
    if conn.vendor == "postgresql":  # COPY is several times faster than row-by-row INSERT
        copy_sql = "COPY {} ({}) FROM STDIN".format(
            quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
        )
        with conn.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
            for obj in objs:
                copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), conn) for f in fields])
        return
    with conn.cursor() as cursor:
        for start in range(0, len(objs), chunk):
            params = [
                [f.get_db_prep_save(f.pre_save(obj, True), conn) for f in fields] for obj in objs[start:start + chunk]
            ]
            cursor.executemany(sql, params)


def copy_rows(model: type[models.Model], columns: list[str], rows: Sequence[Sequence[object]]) -> None:
    """INSERT rows given as tuples already in database form (dates, numbers, JSON as text) for the
    named columns — ``insert_many`` without building model instances, for the hottest bulk paths.
    The caller owns the values: nothing is converted or checked here."""
    if not rows:
        return
    conn = connections[router.db_for_write(model)]
    quote = conn.ops.quote_name
    table, cols = quote(model._meta.db_table), ", ".join(quote(c) for c in columns)
    if conn.vendor == "postgresql":
        with conn.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    with conn.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})",
                           [list(r) for r in rows])
