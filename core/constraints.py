"""Database constraints that only Postgres can hold."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.constraints import ExclusionConstraint


class PostgresExclusionConstraint(ExclusionConstraint):
    """An exclusion constraint on Postgres, nothing on other databases.

    The embedded mode runs on SQLite, which has no exclusion constraints, so there the rule is
    not enforced: the embedded mode is a one-machine demo, and the services mode (production)
    runs on Postgres. Every schema operation and the model validation skip the constraint off
    Postgres, so one set of migrations serves both modes.
    """

    @staticmethod
    def _on_postgres(schema_editor: Any) -> bool:
        return schema_editor.connection.vendor == "postgresql"

    def constraint_sql(self, model: Any, schema_editor: Any) -> str | None:
        if not self._on_postgres(schema_editor):
            return None
        return super().constraint_sql(model, schema_editor)

    def create_sql(self, model: Any, schema_editor: Any) -> Any:
        if not self._on_postgres(schema_editor):
            return None
        return super().create_sql(model, schema_editor)

    def remove_sql(self, model: Any, schema_editor: Any) -> Any:
        if not self._on_postgres(schema_editor):
            return None
        return super().remove_sql(model, schema_editor)

    def validate(
        self, model: Any, instance: Any, exclude: Any = None, using: str = "default"
    ) -> None:
        from django.db import connections

        if connections[using].vendor == "postgresql":
            super().validate(model, instance, exclude=exclude, using=using)
