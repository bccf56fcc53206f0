"""Rows and bytes per note in every table, measured; then the capacity on paper.

Runs K notes through their whole life on the scaled-out stack (deploy/Procfile.scale, workers
by queue): POST, submit, sync, authorized, one event, one webhook delivery with its attempt to a
loopback receiver, its files archived. Then reads row counts and ``pg_total_relation_size``
(heap + indexes + TOAST, summed over partitions) per table, minus the same figures taken before
the first note, and divides by K. Sizes are given as written (dead row versions of the
updates included, as before autovacuum gets there) and after VACUUM FULL (live rows only).

The last lines scale this to 1 million notes a day: the fiscal tables over the 5-year
retention, attempts over FG_DELIVERY_ATTEMPT_RETENTION_DAYS (docs/OPERATIONS.md).

    .venv/bin/python bench/measure_rows.py [--notes 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("BENCH_REDIS", "redis://127.0.0.1:6379/5")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _receiver import Receiver
from _stack import hammer, nfe, sandbox_companies, stack, wait_port
from bench_scaleout import CONFIGS, procfile, scale_env

TABLES = ["fiscal_note", "fiscal_noteevent", "webhooks_event", "webhooks_delivery",
          "webhooks_attempt", "storage_artifact"]
NOTES_PER_DAY = 1_000_000
FISCAL_DAYS = 5 * 365 + 1


def measure() -> dict[str, tuple[int, int]]:
    """(rows, bytes) per table; bytes summed over the table's partitions, indexes, TOAST."""
    from django.db import connection

    sizes = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our constant
            rows = cursor.fetchone()[0]
            # A partitioned parent has no storage of its own: sum its partitions.
            cursor.execute(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_partitioned_table "
                "WHERE partrelid = %s::regclass) THEN (SELECT sum(pg_total_relation_size(relid)) "
                "FROM pg_partition_tree(%s)) ELSE pg_total_relation_size(%s) END",
                [table, table, table])
            sizes[table] = (rows, int(cursor.fetchone()[0]))
    return sizes


def vacuum_full() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM FULL {table}")


def human(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(count) < 1024 or unit == "PB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{count:.0f} B"
        count /= 1024
    return str(count)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=200)
    args = parser.parse_args()
    notes = args.notes
    with stack("rows", **scale_env(2)) as s:
        s.start_sandbox(sandbox_companies())
        tenant, key, _empresa = s.tenant_with_key()
        receiver = Receiver()
        from django.conf import settings

        from fiscal.models import Note
        from storage.models import Artifact
        from webhooks.endpoints import endpoint_create

        endpoint_create(tenant=tenant, environment="homologacao", url=receiver.url())
        before = measure()
        with procfile(s, CONFIGS[4]):
            wait_port(s.web_port, timeout=60)
            hammer(s.web_url, key, [(f"/v2/nfe?ref=m-{i}", nfe(i)) for i in range(notes)], 8)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                settled = not Note.objects.exclude(status="autorizado", next_action="").exists()
                archived = not Artifact.objects.filter(archived_at=None).exists()
                if settled and archived and len(receiver.arrivals) >= notes:
                    break
                time.sleep(0.5)
            else:
                raise SystemExit(f"the notes did not finish their life; logs in {s.tmp}")
            time.sleep(2)  # the last attempts' rows commit after the receiver answered
        written = measure()
        vacuum_full()
        live = measure()
        archive_bytes = sum(Artifact.objects.values_list("size", flat=True))
        files = Artifact.objects.count()
        attempt_days = settings.FG_DELIVERY_ATTEMPT_RETENTION_DAYS

    print(f"{notes} notes, whole life (submit, sync, authorized, webhook delivered, archived)")
    print("| table | rows/note | bytes/note as written | bytes/note live | retained days "
          "| rows at 1M/day | size at 1M/day (live) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    total = 0.0
    for table in TABLES:
        rows = (written[table][0] - before[table][0]) / notes
        as_written = (written[table][1] - before[table][1]) / notes
        live_bytes = (live[table][1] - before[table][1]) / notes
        days = attempt_days if table == "webhooks_attempt" else FISCAL_DAYS
        size = max(live_bytes, 0) * NOTES_PER_DAY * days
        total += size
        print(f"| {table} | {rows:.2f} | {as_written:.0f} | {live_bytes:.0f} | {days} "
              f"| {rows * NOTES_PER_DAY * days:.3g} | {human(size)} |")
    per_note_archive = archive_bytes / notes
    print(f"| archive (S3 objects) | {files / notes:.2f} files "
          f"| {per_note_archive:.0f} | {per_note_archive:.0f} | {FISCAL_DAYS} | "
          f"{files / notes * NOTES_PER_DAY * FISCAL_DAYS:.3g} "
          f"| {human(per_note_archive * NOTES_PER_DAY * FISCAL_DAYS)} |")
    print(f"measure_rows notes={notes} postgres_total_at_1M_per_day={human(total)} "
          f"archive_total_at_1M_per_day={human(per_note_archive * NOTES_PER_DAY * FISCAL_DAYS)}")


if __name__ == "__main__":
    main()
