"""Moving the id sequences of every table, so a test can build the same thing twice with other ids.

A deterministic demo must depend on its seed only.  Two builds in one test database get the same ids
on SQLite (a rolled-back transaction rolls its AUTOINCREMENT counters back) and different ids on
PostgreSQL (sequences never roll back) — so a dependency on row ids shows only on PostgreSQL, and
only when the offsets happen to fall badly.  ``ids_from(base)`` makes the ids differ on purpose, on
both backends: inside it, the next id of every table is ``base`` (or more, when a table already has
higher ids).  Building once from each of ``ID_BASES``:

* the first row of every table gets an id divisible by every number from 2 to 10 in one build and not
  in the other, and the second row the other way round, so ``pk % n`` logic gives other answers (and
  sets of ids iterate in another order);
* every id of the second build but the first is an id the first build used for another row (the row
  before it), so a cache keyed by primary key that outlives a rolled-back transaction serves the wrong
  row's entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.apps import apps
from django.db import connection

# 2520 is divisible by 1..10: the first base is a multiple of it, the second one less
ID_BASES = (2520 * 400, 2520 * 400 - 1)


def _autoincrement_tables() -> list[tuple[str, str]]:
    """(table, pk column) of every model with an auto-incrementing primary key."""
    out = []
    for model in apps.get_models(include_auto_created=True):
        pk = model._meta.pk
        if pk is not None and pk.get_internal_type() in ("AutoField", "BigAutoField", "SmallAutoField"):
            out.append((model._meta.db_table, pk.column))
    return sorted(set(out))


@contextmanager
def ids_from(base: int) -> Iterator[None]:
    """Within the block, new rows of every table get ids from ``base`` on.

    SQLite: the counters live in ``sqlite_sequence``, a table like any other, so the change is rolled
    back with the test.  PostgreSQL: ``setval`` is not transactional, so the sequences are put back
    on exit (the rows written with the high ids are the test's, rolled back with it)."""
    vendor = connection.vendor
    qn = connection.ops.quote_name
    saved: list[tuple[str, int, bool]] = []
    with connection.cursor() as cur:
        for table, column in _autoincrement_tables():
            if vendor == "postgresql":
                cur.execute("SELECT pg_get_serial_sequence(%s, %s)", [qn(table), column])
                row = cur.fetchone()
                if not row or not row[0]:
                    continue
                seq = row[0]
                cur.execute(f"SELECT last_value, is_called FROM {seq}")
                last, called = cur.fetchone()
                saved.append((seq, last, called))
                cur.execute(f"SELECT COALESCE(MAX({qn(column)}), 0) FROM {qn(table)}")
                top = cur.fetchone()[0]
                cur.execute("SELECT setval(%s, %s, false)", [seq, max(base, top + 1)])
            elif vendor == "sqlite":
                cur.execute(f"SELECT COALESCE(MAX({qn(column)}), 0) FROM {qn(table)}")
                nxt = max(base, cur.fetchone()[0] + 1)
                cur.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [nxt - 1, table])
                if cur.rowcount == 0:
                    cur.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, nxt - 1])
            else:  # pragma: no cover - the suite runs on SQLite and PostgreSQL
                raise NotImplementedError(vendor)
    try:
        yield
    finally:
        if saved:
            with connection.cursor() as cur:
                for seq, last, called in saved:
                    cur.execute("SELECT setval(%s, %s, %s)", [seq, last, called])
