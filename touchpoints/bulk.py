"""Set-based writes for the ingest path: id allocation, COPY / executemany.

The ORM's bulk_create builds a model instance per row and cannot hand back
ids on every backend in one round trip; ingest needs the ids to write the
link rows in the same transaction, so it allocates them first and writes
plain tuples with executemany.
"""
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

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


def _sqlite_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def datetime_converter() -> Callable[[datetime | None], Any]:
    """What the ORM would store for an aware datetime, without its per-value
    overhead (measured: 20 us a value, most of a 1,000-item batch's Python
    time). SQLite: naive UTC text as Django writes it; PostgreSQL: the aware
    value itself (timestamptz). Resolve once per batch, not per value."""
    if connection.vendor != "sqlite":
        return lambda value: value
    cache: dict[datetime, str] = {}

    def convert(value: datetime | None) -> str | None:
        if value is None:
            return None
        text = cache.get(value)
        if text is None:
            text = cache[value] = _sqlite_datetime(value)
        return text

    return convert


def _preparer(field: models.Field, convert_datetime) -> Callable[[Any], Any] | None:
    if isinstance(field, models.DateTimeField):
        return convert_datetime
    if isinstance(field, (models.DateField, models.DecimalField, models.JSONField)):
        return lambda value: field.get_db_prep_save(value, connection)
    return None


def insert_rows(model: type[models.Model], field_names: Sequence[str], rows: Iterable[Sequence]) -> None:
    """INSERT plain tuples (in ``field_names`` order) with one executemany.

    Values are converted as the ORM would store them (datetimes to UTC,
    decimals and dates to their database form).
    """
    fields = [model._meta.get_field(name) for name in field_names]
    convert_datetime = datetime_converter()
    preparers = [(i, prep) for i, f in enumerate(fields) if (prep := _preparer(f, convert_datetime)) is not None]
    prepared = []
    for row in rows:
        if preparers:
            row = list(row)
            for i, prep in preparers:
                row[i] = prep(row[i])
        prepared.append(row)
    if not prepared:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY, PostgreSQL's bulk path: measured per 1,000-item batch,
            # touchpoints 57 -> 14 ms and links 106 -> 17 ms against
            # executemany. Constraints apply as for INSERT; a unique
            # violation aborts the COPY and surfaces as IntegrityError.
            with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in prepared:
                    copy.write_row(row)
            return
        placeholders = ", ".join(["%s"] * len(fields))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", prepared)


# Indexes of the log's two tables that a bulk load may rebuild once at the
# end instead of maintaining row by row (demo data, benchmark fixtures).
# tp_source_external_id_uniq stays: ingest looks external ids up through it.
DEFERRABLE_LOG_INDEXES = (
    "tp_occurred_idx",
    "tp_owner_occurred_idx",
    "tp_idempotency_key_uniq",
    "tpl_org_timeline_idx",
    "tpl_contact_timeline_idx",
    "tpl_deal_timeline_idx",
    "tpl_org_uniq",
    "tpl_contact_uniq",
    "tpl_deal_uniq",
)


@contextmanager
def deferred_log_indexes(on_rebuild: Callable[[str, int, int], Any] | None = None) -> Iterator[None]:
    """Drop the log's secondary indexes (and Django's FK indexes on them) for
    the duration of a bulk load, then recreate each from its own stored
    definition, so the result is exactly what the migrations built.

    Only for loads whose rows are known to be valid (the unique indexes are
    gone meanwhile). Use inside the load's transaction: DDL is transactional
    on both databases, so a failed load gets its indexes back with the
    rollback. On PostgreSQL the DROP holds the tables' exclusive lock until
    commit: readers wait for the load."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND (indexname = ANY(%s) OR indexname LIKE 'touchpoints_touchpoint%%_id_%%')",
                [list(DEFERRABLE_LOG_INDEXES)],
            )
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND (name IN ({', '.join(['%s'] * len(DEFERRABLE_LOG_INDEXES))}) OR name LIKE 'touchpoints_touchpoint%%_id_%%')",
                list(DEFERRABLE_LOG_INDEXES),
            )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and indexes:
            # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED, and a
            # table with pending FK checks takes no CREATE INDEX: run the
            # checks now (commit would have), then defer again as declared.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for done, (name, ddl) in enumerate(indexes):
            if on_rebuild is not None:
                on_rebuild(name, done, len(indexes))  # before each, and once when all are back: a progress bar
            cursor.execute(ddl)
        if on_rebuild is not None and indexes:
            on_rebuild("", len(indexes), len(indexes))
