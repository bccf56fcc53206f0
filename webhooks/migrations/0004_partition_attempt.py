"""Delivery attempts become a table partitioned by month on Postgres (core/partitions.py).

Partitioned on ``started_at``, the attempt's creation time (it is written when the attempt
ends, a timeout after it started at most). The model's pk is still ``id``; the database's
primary key is (id, started_at). On SQLite (the embedded mode) this migration does nothing.
"""

from __future__ import annotations

from django.db import migrations

from core.partitions import convert_to_partitioned


def partition(apps, schema_editor) -> None:
    convert_to_partitioned(schema_editor, table="webhooks_attempt", column="started_at")


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0003_certificate_notices")]

    # Reversing leaves the table partitioned: it reads and writes the same either way.
    operations = [migrations.RunPython(partition, migrations.RunPython.noop, elidable=False)]
