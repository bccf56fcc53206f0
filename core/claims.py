"""A step on a row is a claim: a conditional update that must touch exactly that row.

Two workers (or a worker and a late retry, or a staff action) never take the same step: the
database decides who wins, and the loser's update touches nothing (DESIGN.md §2, STYLE.md
habit 5; healthchecks' ``filter(id=..., processed=None).update(...)``). No lock is held, so
it works the same on Postgres and SQLite.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connection
from django.db.models import Model, QuerySet

from core import statements


def claim(
    rows: type[Model] | QuerySet[Any],
    pk: Any,
    *,
    where: Mapping[str, Any] | None = None,
    **changes: Any,
) -> bool:
    """Write ``changes`` to row ``pk`` only while it still matches ``where``.

    True when this call made the change; False when the row has moved on (someone else's
    claim, a replay, a pause) or is gone. ``rows`` is a model or a queryset to narrow it.
    """
    if isinstance(rows, type):
        # The common claim (plain values on a model's columns) skips the ORM's compile: it is
        # on every step of every note and every webhook attempt.
        plain = statements.plain_update(rows, pk, changes, where)
        if plain is not None:
            with connection.cursor() as cursor:
                cursor.execute(*plain)
                return cursor.rowcount == 1
    queryset = rows._default_manager.all() if isinstance(rows, type) else rows
    return queryset.filter(pk=pk, **(where or {})).update(**changes) == 1
