"""The note timeline becomes a table partitioned by month on Postgres (core/partitions.py).

Nothing changes for Django: the model's pk is still ``id``; only the database's primary key is
(id, created_at). On SQLite (the embedded mode) this migration does nothing.
"""

from __future__ import annotations

from django.db import migrations

from core.partitions import convert_to_partitioned


def partition(apps, schema_editor) -> None:
    convert_to_partitioned(schema_editor, table="fiscal_noteevent", column="created_at")


class Migration(migrations.Migration):
    dependencies = [("fiscal", "0005_inutilizacao_status_and_in_doubt")]

    # Reversing leaves the table partitioned: it reads and writes the same either way.
    operations = [migrations.RunPython(partition, migrations.RunPython.noop, elidable=False)]
