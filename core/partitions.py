"""Monthly RANGE partitions for the append-only tables (the note timeline, delivery attempts).

Why: both tables only grow, and their old rows expire as a whole month at a time (attempts
after ``FG_DELIVERY_ATTEMPT_RETENTION_DAYS``, the timeline after the fiscal retention). A month
that is its own table is detached (and dropped, or dumped and dropped by an operator) in one
statement instead of a ``DELETE`` that rewrites indexes, bloats the heap and holds locks for
hours. Postgres only: on SQLite (the embedded mode) every function here does nothing.

Naming: ``<table>_pYYYYMM`` holds ``[first of the month, first of the next month)`` in UTC;
``<table>_default`` catches anything no month partition covers (a month the maintenance task
has not created yet), and ``ensure_partitions`` moves such rows into their month when it
creates it.

Reference: https://www.postgresql.org/docs/15/ddl-partitioning.html
"""

# DDL cannot take identifiers as parameters: every table and column name below comes from code
# or settings (never from a request) and is quoted with quote_name.
# ruff: noqa: S608
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone


@dataclass(frozen=True)
class PartitionedTable:
    table: str
    # The timestamp column partitioned on; part of the table's primary key (id, column).
    column: str
    # Months older than this are detached by the maintenance task; None keeps them all.
    retention_days: int | None
    # Drop detached months (attempts) or keep them as plain tables to archive (the timeline).
    drop_detached: bool


def configured_tables() -> list[PartitionedTable]:
    """The partitioned tables and their retention, from ``settings.FG_PARTITIONED_TABLES``."""
    return [PartitionedTable(table=name, **spec)
            for name, spec in settings.FG_PARTITIONED_TABLES.items()]


def month_start(moment: dt.datetime) -> dt.datetime:
    moment = moment.astimezone(dt.UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def add_months(month: dt.datetime, count: int) -> dt.datetime:
    index = month.year * 12 + month.month - 1 + count
    return month.replace(year=index // 12, month=index % 12 + 1)


def partition_name(table: str, month: dt.datetime) -> str:
    return f"{table}_p{month:%Y%m}"


def _quote(conn: BaseDatabaseWrapper, name: str) -> str:
    return conn.ops.quote_name(name)


def list_partitions(table: str, *,
                    conn: BaseDatabaseWrapper = connection) -> dict[str, dt.datetime]:
    """The month partitions attached to ``table``: name -> first instant of its month."""
    pattern = re.compile(rf"^{re.escape(table)}_p(\d{{4}})(\d{{2}})$")
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass", [table],
        )
        names = [row[0] for row in cursor.fetchall()]
    months = {}
    for name in names:
        match = pattern.match(name)
        if match:
            months[name] = dt.datetime(int(match[1]), int(match[2]), 1, tzinfo=dt.UTC)
    return months


def is_partitioned(table: str, *, conn: BaseDatabaseWrapper = connection) -> bool:
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass",
                       [table])
        return cursor.fetchone() is not None


def ensure_partitions(table: str, column: str, *, first: dt.datetime, last: dt.datetime,
                      conn: BaseDatabaseWrapper = connection) -> list[str]:
    """Create the month partitions from ``first``'s month to ``last``'s, those missing only.

    Each month is built as a plain table, filled with any of its rows the default partition
    caught, then attached: ATTACH takes a SHARE UPDATE EXCLUSIVE lock on the parent, so inserts
    and reads go on meanwhile (CREATE TABLE ... PARTITION OF would take ACCESS EXCLUSIVE)."""
    if conn.vendor != "postgresql":
        return []
    existing = list_partitions(table, conn=conn)
    created = []
    month = month_start(first)
    while month <= month_start(last):
        name = partition_name(table, month)
        if name not in existing:
            _attach_month(conn, table, column, name, month)
            created.append(name)
        month = add_months(month, 1)
    return created


def _attach_month(conn: BaseDatabaseWrapper, table: str, column: str, name: str,
                  month: dt.datetime) -> None:
    parent, child, col = _quote(conn, table), _quote(conn, name), _quote(conn, column)
    default = _quote(conn, f"{table}_default")
    start, end = month.isoformat(), add_months(month, 1).isoformat()
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        # NOT NULL and CHECK constraints must match the parent's for ATTACH; defaults too, so
        # that the partition reads like the parent if anyone inserts into it directly.
        cursor.execute(f"CREATE TABLE {child} (LIKE {parent} INCLUDING DEFAULTS "
                       "INCLUDING CONSTRAINTS INCLUDING STORAGE)")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {default} WHERE {col} >= %s AND {col} < %s "
            f"RETURNING *) INSERT INTO {child} SELECT * FROM moved", [start, end],
        )
        cursor.execute(f"ALTER TABLE {parent} ATTACH PARTITION {child} "
                       f"FOR VALUES FROM (%s) TO (%s)", [start, end])


def detach_expired(table: str, *, retention_days: int, drop: bool, now: dt.datetime,
                   conn: BaseDatabaseWrapper = connection) -> list[str]:
    """Detach the months whose every row is older than ``retention_days``; drop them if asked.

    A month is expired when its end is before ``now - retention``: no row in it is younger.
    Plain DETACH (not CONCURRENTLY): CONCURRENTLY is refused while a default partition exists,
    and the parent's lock is held only for the catalog change."""
    if conn.vendor != "postgresql":
        return []
    cutoff = now - dt.timedelta(days=retention_days)
    parent = _quote(conn, table)
    detached = []
    for name, month in sorted(list_partitions(table, conn=conn).items()):
        if add_months(month, 1) > cutoff:
            continue
        with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {parent} DETACH PARTITION {_quote(conn, name)}")
            if drop:
                cursor.execute(f"DROP TABLE {_quote(conn, name)}")
        detached.append(name)
    return detached


def maintain(*, now: dt.datetime | None = None, months_ahead: int | None = None) -> dict[str, dict]:
    """The periodic job: months ahead created, expired months detached. Idempotent."""
    if connection.vendor != "postgresql":
        return {}
    now = now or timezone.now()
    ahead = settings.FG_PARTITION_MONTHS_AHEAD if months_ahead is None else months_ahead
    report: dict[str, dict] = {}
    for spec in configured_tables():
        if not is_partitioned(spec.table):
            continue
        created = ensure_partitions(spec.table, spec.column, first=now,
                                    last=add_months(month_start(now), ahead))
        detached = [] if spec.retention_days is None else detach_expired(
            spec.table, retention_days=spec.retention_days, drop=spec.drop_detached, now=now)
        report[spec.table] = {"created": created, "detached": detached}
    return report


def convert_to_partitioned(schema_editor, *, table: str, column: str) -> None:
    """Migration step: turn ``table`` into a RANGE-partitioned table on ``column``, keeping rows.

    The primary key becomes (id, column), since Postgres wants the partition key in every
    unique index; Django still uses ``id`` alone as the model's pk (ids come from one identity
    sequence, so they stay unique). Indexes, foreign keys and CHECK constraints keep their
    names. Runs inside the migration's transaction: all or nothing."""
    conn = schema_editor.connection
    if conn.vendor != "postgresql" or is_partitioned(table, conn=conn):
        return
    old = f"{table}_unpartitioned"
    q_table, q_old, q_col = _quote(conn, table), _quote(conn, old), _quote(conn, column)
    with conn.cursor() as cursor:
        # Foreign keys of rows written earlier in this transaction are checked now: Postgres
        # refuses to drop a table (the old one, below) with such checks pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %s AND indexname NOT IN (SELECT conname FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('p', 'u'))", [table, table],
        )
        index_defs = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'", [table],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'u'",
            [table],
        )
        if cursor.fetchall():
            raise RuntimeError(f"{table}: a unique constraint without {column} cannot be kept")
        cursor.execute(
            "SELECT conrelid::regclass::text FROM pg_constraint WHERE confrelid = %s::regclass",
            [table],
        )
        if referencing := [row[0] for row in cursor.fetchall()]:
            raise RuntimeError(f"{table} is referenced by {referencing}: cannot partition")
        cursor.execute(f"SELECT min({q_col}), max({q_col}) FROM {q_table}")
        oldest, newest = cursor.fetchone()

        cursor.execute(f"ALTER TABLE {q_table} RENAME TO {q_old}")
        cursor.execute(
            f"CREATE TABLE {q_table} (LIKE {q_old} INCLUDING DEFAULTS INCLUDING IDENTITY "
            f"INCLUDING CONSTRAINTS INCLUDING STORAGE) PARTITION BY RANGE ({q_col})"
        )
        cursor.execute(f"CREATE TABLE {_quote(conn, table + '_default')} "
                       f"PARTITION OF {q_table} DEFAULT")
    now = timezone.now()
    ensure_partitions(table, column, first=min(oldest or now, now),
                      last=add_months(month_start(max(newest or now, now)), 1), conn=conn)
    columns = ", ".join(_quote(conn, f.name) for f in _columns(conn, old))
    with conn.cursor() as cursor:
        # OVERRIDING SYSTEM VALUE: ids are kept, whatever kind of identity the new column has.
        cursor.execute(f"INSERT INTO {q_table} ({columns}) OVERRIDING SYSTEM VALUE "
                       f"SELECT {columns} FROM {q_old}")
        cursor.execute(f"DROP TABLE {q_old}")
        cursor.execute(f"ALTER TABLE {q_table} ADD CONSTRAINT {_quote(conn, table + '_pkey')} "
                       f"PRIMARY KEY (id, {q_col})")
        for definition in index_defs:
            cursor.execute(definition)
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {q_table} ADD CONSTRAINT {_quote(conn, name)} "
                           f"{definition}")
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            f"coalesce((SELECT max(id) FROM {q_table}), 0) + 1, false)", [table],
        )


def _columns(conn: BaseDatabaseWrapper, table: str) -> list:
    with conn.cursor() as cursor:
        return conn.introspection.get_table_description(cursor, table)
