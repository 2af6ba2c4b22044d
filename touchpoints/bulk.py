"""Set-based writes for the ingest path: id allocation and executemany.

The ORM's bulk_create builds a model instance per row and cannot hand back
ids on every backend in one round trip; ingest needs the ids to write the
link rows in the same transaction, so it allocates them first and writes
plain tuples with executemany.
"""
from collections.abc import Iterable, Sequence

from django.db import connection, models


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """Reserve ``count`` primary keys for ``model``. Call inside a transaction."""
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: every write transaction is BEGIN IMMEDIATE (settings), so we
        # hold the database's only write lock and nobody can take these ids
        # before we commit. AUTOINCREMENT's sqlite_sequence keeps ids of
        # deleted rows from being reused.
        cursor.execute(
            f'SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), COALESCE((SELECT MAX(id) FROM "{table}"), 0))',
            [table],
        )
        start = cursor.fetchone()[0] + 1
        return list(range(start, start + count))


def insert_rows(model: type[models.Model], field_names: Sequence[str], rows: Iterable[Sequence]) -> None:
    """INSERT plain tuples (in ``field_names`` order) with one executemany.

    Values are passed through each field's get_db_prep_save so datetimes and
    the like are stored exactly as the ORM would store them.
    """
    fields = [model._meta.get_field(name) for name in field_names]
    needs_prep = [
        i for i, f in enumerate(fields) if isinstance(f, (models.DateTimeField, models.DateField, models.DecimalField, models.JSONField))
    ]
    prepared = []
    for row in rows:
        if needs_prep:
            row = list(row)
            for i in needs_prep:
                row[i] = fields[i].get_db_prep_save(row[i], connection)
        prepared.append(row)
    if not prepared:
        return
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        cursor.executemany(sql, prepared)
