"""Plain statements for the hottest writes, built from the models' own names.

A few writes happen on every note: the write-ahead claim with its timeline row, a step's answer
with its rows, an event with its tenant's sequence, a webhook attempt. They fold two writes
into one statement (a data-modifying ``WITH``) or skip the QuerySet's compile, which cost the
gateway more CPU than Postgres spends running them (bench/PROFILE.md). Everything else goes
through the ORM.

Table and column names come from the models and are quoted; every value is a parameter,
prepared by its field as ``save()`` prepares it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, Model, QuerySet, sql


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[Model]) -> str:
    return quote(model._meta.db_table)


def columns(fields: Iterable[Field]) -> str:
    """``"a", "b", "c"``: the fields' columns, quoted."""
    return ", ".join(quote(field.column) for field in fields)


def placeholders(width: int) -> str:
    """``%s, %s, %s``: one row's parameters in a SELECT list."""
    return ", ".join(["%s"] * width)


def values_rows(width: int, rows: int) -> str:
    """``(%s, %s), (%s, %s)``: the parameters of a multi-row ``VALUES``."""
    return ", ".join([f"({placeholders(width)})"] * rows)


def prepared(fields: Sequence[Field], values: Sequence[Any]) -> list[Any]:
    """``values`` as their fields send them to the database."""
    return [field.get_db_prep_save(value, connection)
            for field, value in zip(fields, values, strict=True)]


def prepared_for_insert(obj: Model, fields: Sequence[Field]) -> list[Any]:
    """``obj``'s values of ``fields`` as an INSERT by ``save()`` sends them (``auto_now_add``
    set on the instance, as save() sets it)."""
    return prepared(fields, [field.pre_save(obj, add=True) for field in fields])


def update_sql(rows: QuerySet, changes: dict[str, Any]) -> tuple[str, tuple]:
    """The SQL of ``rows.update(**changes)``, compiled by the ORM, not run."""
    query = rows.query.chain(sql.UpdateQuery)
    query.add_update_values(changes)
    return query.get_compiler(connection.alias).as_sql()


def mark_saved(obj: Model, pk: int) -> None:
    """``obj`` as ``save()`` leaves an inserted row: its id set, no longer adding."""
    obj.pk = pk
    obj._state.adding, obj._state.db = False, connection.alias
