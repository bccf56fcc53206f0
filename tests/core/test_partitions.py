"""The append-only tables are partitioned by month on Postgres (core/partitions.py): rows land
in their month, the maintenance task creates months ahead and detaches expired ones whole."""

# Table names in the SQL below are the test's own constants.
# ruff: noqa: S608
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from core import partitions
from core.tasks import partitions_maintain
from fiscal.models import NoteEvent
from tests.webhooks.conftest import create_endpoint, make_note, publish_note
from webhooks.models import Attempt, Delivery

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="Postgres partitions")

UTC = dt.UTC


def _partition_of(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def _attached(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                       " WHERE i.inhparent = %s::regclass", [table])
        return {row[0] for row in cursor.fetchall()}


def _table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def _month(moment: dt.datetime) -> str:
    return f"p{moment.astimezone(UTC):%Y%m}"


@pytest.fixture
def delivery(actor, empresa, settings) -> Delivery:
    settings.FG_WEBHOOKS_ALLOW_LOOPBACK = True
    settings.FG_WEBHOOKS_REQUIRE_HTTPS = False
    # Never called: the attempts are written by the test.
    create_endpoint(actor, "http://127.0.0.1:9/hook")
    publish_note(make_note(empresa))
    return Delivery.objects.get()


def _attempt(delivery: Delivery, started_at: dt.datetime) -> Attempt:
    return Attempt.objects.create(delivery=delivery, started_at=started_at, status_code=200,
                                  succeeded=True)


def test_both_tables_are_range_partitioned_with_a_composite_primary_key(db) -> None:
    for table, column in (("fiscal_noteevent", "created_at"), ("webhooks_attempt", "started_at")):
        assert partitions.is_partitioned(table)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'p'", [table])
            assert cursor.fetchone()[0] == f"PRIMARY KEY (id, {column})"
        now = timezone.now()
        assert {f"{table}_default", f"{table}_{_month(now)}"} <= _attached(table)


def test_nothing_references_the_partitioned_tables(db) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND confrelid IN "
                       "('fiscal_noteevent'::regclass, 'webhooks_attempt'::regclass)")
        assert cursor.fetchone()[0] == 0


def test_timeline_rows_of_different_months_land_in_their_partitions(actor, empresa) -> None:
    note = make_note(empresa)
    now = timezone.now()
    last_month = partitions.add_months(partitions.month_start(now), -1) + dt.timedelta(days=3)
    partitions.ensure_partitions("fiscal_noteevent", "created_at", first=last_month, last=now)
    recent = NoteEvent.objects.create(note=note, kind=NoteEvent.Kind.CREATED)
    old = NoteEvent.objects.create(note=note, kind=NoteEvent.Kind.SUBMITTED)
    # auto_now_add ignores a value on create; an update moves the row to its month's partition.
    NoteEvent.objects.filter(pk=old.pk).update(created_at=last_month)

    assert _partition_of("fiscal_noteevent", recent.pk) == f"fiscal_noteevent_{_month(now)}"
    assert _partition_of("fiscal_noteevent", old.pk) == f"fiscal_noteevent_{_month(last_month)}"
    # The ORM reads through the parent as before: the note's timeline, in id order.
    assert list(note.events.values_list("pk", flat=True)) == [recent.pk, old.pk]


def test_a_month_without_a_partition_goes_to_default_and_moves_when_it_is_created(
    delivery,
) -> None:
    far = timezone.now() + dt.timedelta(days=200)
    attempt = _attempt(delivery, far)
    assert _partition_of("webhooks_attempt", attempt.pk) == "webhooks_attempt_default"

    created = partitions.ensure_partitions("webhooks_attempt", "started_at", first=far, last=far)

    assert created == [f"webhooks_attempt_{_month(far)}"]
    assert _partition_of("webhooks_attempt", attempt.pk) == f"webhooks_attempt_{_month(far)}"
    assert Attempt.objects.get(pk=attempt.pk).started_at == far


def test_maintenance_creates_the_next_months_idempotently(db) -> None:
    now = timezone.now()
    ahead = [partitions.add_months(partitions.month_start(now), n) for n in (1, 2)]

    partitions_maintain.apply()
    first = {t: _attached(t) for t in ("fiscal_noteevent", "webhooks_attempt")}
    second_report = partitions.maintain()

    for table, names in first.items():
        assert {f"{table}_{_month(m)}" for m in ahead} <= names
        assert _attached(table) == names
        assert second_report[table] == {"created": [], "detached": []}


def test_maintenance_detaches_and_drops_an_expired_attempts_month(delivery, settings) -> None:
    settings.FG_DELIVERY_ATTEMPT_RETENTION_DAYS = 90
    now = timezone.now()
    old_at = now - dt.timedelta(days=200)
    partitions.ensure_partitions("webhooks_attempt", "started_at", first=old_at, last=old_at)
    old = [_attempt(delivery, old_at), _attempt(delivery, old_at + dt.timedelta(hours=1))]
    recent = _attempt(delivery, now)
    old_partition = f"webhooks_attempt_{_month(old_at)}"
    assert {_partition_of("webhooks_attempt", a.pk) for a in old} == {old_partition}
    with connection.cursor() as cursor:
        # The rows are written in this test's transaction: check their foreign keys now, as
        # their commit would have, or Postgres refuses to drop a table with checks pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    report = partitions.maintain(now=now)

    assert report["webhooks_attempt"]["detached"] == [old_partition]
    assert old_partition not in _attached("webhooks_attempt")
    assert not _table_exists(old_partition)  # attempts are dropped, whole
    assert list(Attempt.objects.values_list("pk", flat=True)) == [recent.pk]
    assert Delivery.objects.filter(pk=delivery.pk).exists()
    # The current month and the months ahead are kept.
    assert f"webhooks_attempt_{_month(now)}" in _attached("webhooks_attempt")


def test_timeline_months_are_detached_after_the_fiscal_retention_and_kept(
    actor, empresa, settings,
) -> None:
    note = make_note(empresa)
    now = timezone.now()
    six_years = now - dt.timedelta(days=6 * 366)
    four_years = now - dt.timedelta(days=4 * 366)
    partitions.ensure_partitions("fiscal_noteevent", "created_at", first=six_years,
                                 last=six_years)
    partitions.ensure_partitions("fiscal_noteevent", "created_at", first=four_years,
                                 last=four_years)
    expired = NoteEvent.objects.create(note=note, kind=NoteEvent.Kind.CREATED)
    kept = NoteEvent.objects.create(note=note, kind=NoteEvent.Kind.SUBMITTED)
    NoteEvent.objects.filter(pk=expired.pk).update(created_at=six_years)
    NoteEvent.objects.filter(pk=kept.pk).update(created_at=four_years)
    assert settings.FG_TIMELINE_RETENTION_DAYS >= 5 * 366

    report = partitions.maintain(now=now)

    expired_partition = f"fiscal_noteevent_{_month(six_years)}"
    assert report["fiscal_noteevent"]["detached"] == [expired_partition]
    assert list(note.events.values_list("pk", flat=True)) == [kept.pk]
    # Detached, not dropped: the fiscal record is archived by an operator, not lost.
    assert _table_exists(expired_partition)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {expired_partition}")
        assert cursor.fetchall() == [(expired.pk,)]


def test_maintenance_does_nothing_on_a_table_that_is_not_partitioned(db, settings) -> None:
    settings.FG_PARTITIONED_TABLES = {
        "webhooks_event": {"column": "created_at", "retention_days": 1, "drop_detached": True},
    }
    assert partitions.maintain() == {}


def test_conversion_keeps_rows_ids_indexes_and_foreign_keys(actor, empresa) -> None:
    """What the migrations do to a table that already has rows (months apart)."""
    note = make_note(empresa)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE t_timeline (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
            "note_id bigint NOT NULL REFERENCES fiscal_note (id) DEFERRABLE INITIALLY DEFERRED, "
            "n integer NOT NULL CHECK (n >= 0), created_at timestamptz NOT NULL)")
        cursor.execute("CREATE INDEX t_timeline_note_idx ON t_timeline (note_id, id)")
        cursor.execute(
            "INSERT INTO t_timeline (note_id, n, created_at) VALUES "
            "(%s, 1, now() - interval '70 days'), (%s, 2, now() - interval '35 days'), "
            "(%s, 3, now())", [note.pk] * 3)

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    partitions.convert_to_partitioned(editor, table="t_timeline", column="created_at")

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, n, tableoid::regclass::text FROM t_timeline ORDER BY id")
        rows = cursor.fetchall()
        assert [(r[0], r[1]) for r in rows] == [(1, 1), (2, 2), (3, 3)]
        assert "t_timeline_default" not in {r[2] for r in rows}
        assert len({r[2] for r in rows}) >= 2  # two or three months, each its own table
        cursor.execute("INSERT INTO t_timeline (note_id, n, created_at) "
                       "VALUES (%s, 4, now()) RETURNING id", [note.pk])
        assert cursor.fetchone()[0] == 4  # the sequence continues after the copied ids
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 't_timeline'")
        assert {r[0] for r in cursor.fetchall()} == {"t_timeline_pkey", "t_timeline_note_idx"}
        cursor.execute("SELECT contype FROM pg_constraint WHERE conrelid = 't_timeline'::regclass")
        assert sorted(r[0] for r in cursor.fetchall()) == ["c", "f", "p"]
        cursor.execute("DROP TABLE t_timeline")


def test_a_timeline_retention_shorter_than_the_fiscal_one_is_refused(tmp_path) -> None:
    from tests.core.test_settings_modes import _django_setup

    result = _django_setup({"FG_RETENTION_YEARS": "5", "FG_TIMELINE_RETENTION_DAYS": "365"},
                           tmp_path)

    assert result.returncode != 0
    assert "FG_TIMELINE_RETENTION_DAYS is shorter than FG_RETENTION_YEARS" in result.stderr
