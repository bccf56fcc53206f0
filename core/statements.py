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

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, Model, QuerySet, sql
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError


def _db() -> Any:
    """The thread's connection itself: ``django.db.connection`` is a proxy that looks it up
    on every attribute, a cost in loops over a row's forty fields."""
    return connections[DEFAULT_DB_ALIAS]


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


def insert_fields(model: type[Model]) -> list[Field]:
    """The columns an INSERT by ``save()`` writes: every concrete field but an automatic id."""
    return [field for field in model._meta.local_concrete_fields
            if not (field.primary_key and field.db_returning)]


def prepared(fields: Sequence[Field], values: Sequence[Any]) -> list[Any]:
    """``values`` as their fields send them to the database."""
    db = _db()
    return [field.get_db_prep_save(value, db)
            for field, value in zip(fields, values, strict=True)]


def prepared_for_insert(obj: Model, fields: Sequence[Field]) -> list[Any]:
    """``obj``'s values of ``fields`` as an INSERT by ``save()`` sends them (``auto_now_add``
    set on the instance, as save() sets it)."""
    return prepared(fields, [field.pre_save(obj, add=True) for field in fields])


def update_sql(model: type[Model], pk: Any, changes: Mapping[str, Any],
               where: Mapping[str, Any] | None = None) -> tuple[str, list[Any]]:
    """The SQL of ``model.objects.filter(pk=pk, **where).update(**changes)``, not run.

    Plain when it can be (``plain_update``), else compiled by the ORM."""
    plain = plain_update(model, pk, changes, where)
    if plain is not None:
        return plain
    query = model._default_manager.filter(pk=pk, **(where or {})).query.chain(sql.UpdateQuery)
    query.add_update_values(changes)
    statement, params = query.get_compiler(connection.alias).as_sql()
    return statement, list(params)


def plain_update(model: type[Model], pk: Any, changes: Mapping[str, Any],
                 where: Mapping[str, Any] | None = None) -> tuple[str, list[Any]] | None:
    """``update_sql`` without the ORM's compile, or None when it needs the ORM: only values
    (no expressions) written to and compared with the model's own columns (no lookups, no
    relations). A ``where`` of None is ``IS NULL``, as in ``filter()``. Its statement is
    written once per shape; the values are prepared by their fields as ``update()`` does."""
    where = where or {}
    if any(hasattr(value, "resolve_expression")
           for value in (*changes.values(), *where.values())):
        return None
    shape = _update_shape(model, tuple(changes), tuple((name, where[name] is None)
                                                       for name in where))
    if shape is None:
        return None
    statement, set_fields, where_fields = shape
    db = _db()
    params = [field.get_db_prep_save(changes[field.name], db) for field in set_fields]
    params.append(model._meta.pk.get_db_prep_value(pk, db, prepared=False))
    params.extend(field.get_db_prep_value(where[field.name], db, prepared=False)
                  for field in where_fields)
    return statement, params


@functools.lru_cache(maxsize=256)
def _update_shape(model: type[Model], changed: tuple[str, ...],
                  compared: tuple[tuple[str, bool], ...]
                  ) -> tuple[str, list[Field], list[Field]] | None:
    fields = {field.name: field for field in model._meta.concrete_fields}
    names = [*changed, *(name for name, _ in compared)]
    if not changed or any(name not in fields or fields[name].is_relation for name in names):
        return None
    set_fields = [fields[name] for name in changed]
    where_fields = [fields[name] for name, is_null in compared if not is_null]
    conditions = [f"{quote(model._meta.pk.column)} = %s", *(
        f"{quote(fields[name].column)} IS NULL" if is_null else f"{quote(fields[name].column)} = %s"
        for name, is_null in compared)]
    statement = (f"UPDATE {table(model)} SET "  # noqa: S608 - model names
                 f"{', '.join(f'{quote(field.column)} = %s' for field in set_fields)} "
                 f"WHERE {' AND '.join(conditions)}")
    return statement, set_fields, where_fields


def insert(objs: Sequence[Model]) -> list[Model]:
    """``bulk_create(objs)`` of new rows of one model, without compiling the INSERT: one
    statement, ids set from its ``RETURNING``. No signals, as bulk_create sends none."""
    if not objs:
        return []
    model = type(objs[0])
    if not connection.features.can_return_rows_from_bulk_insert:
        return model._default_manager.bulk_create(objs)
    fields = insert_fields(model)
    sql = (f"INSERT INTO {table(model)} ({columns(fields)}) "  # noqa: S608 - model names
           f"VALUES {values_rows(len(fields), len(objs))} "
           f"RETURNING {quote(model._meta.pk.column)}")
    params = [value for obj in objs for value in prepared_for_insert(obj, fields)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [pk for (pk,) in cursor.fetchall()]
    for obj, pk in zip(objs, ids, strict=True):
        mark_saved(obj, pk)
    return list(objs)


def mark_saved(obj: Model, pk: int) -> None:
    """``obj`` as ``save()`` leaves an inserted row: its id set, no longer adding."""
    obj.pk = pk
    obj._state.adding, obj._state.db = False, connection.alias


class PreparedSelect:
    """A QuerySet's SELECT, compiled by the ORM once per process and run
    again with new values: the same SQL, the same instances (``select_related`` parents,
    deferred fields, converters), without building and compiling the QuerySet per call.

    Compiling a ``select_related`` query (a note with its company and tenant, a key with its
    tenant) cost the request path more CPU than Postgres spends running it. ``build`` takes
    the lookup values by name and returns the QuerySet; it is called once, with ``sample``
    values that must each reach the SQL as one parameter of their own (distinct values, none
    equal to a constant of the query), so that each call's values take their places.
    """

    def __init__(self, build: Callable[..., QuerySet], **sample: Any) -> None:
        self._build = build
        self._sample = sample
        self._compiled: dict[str, _Compiled] = {}  # by connection alias

    def one(self, **values: Any) -> Model | None:
        """The first row's instance, or None."""
        compiled, params = self._prepare(values)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            row = cursor.fetchone()
        return None if row is None else self._instance(compiled, row)

    def all(self, **values: Any) -> list[Model]:
        compiled, params = self._prepare(values)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return [self._instance(compiled, row) for row in rows]

    def _prepare(self, values: dict[str, Any]) -> tuple[_Compiled, list[Any]]:
        db = _db()
        compiled = self._compiled.get(db.alias) or self._compile()
        if (compiled.for_update and db.features.has_select_for_update
                and not db.in_atomic_block):
            raise TransactionManagementError("select_for_update cannot be used outside of "
                                             "a transaction.")
        return compiled, [values[name] if name is not None else constant
                          for name, constant in compiled.params]

    @staticmethod
    def _instance(compiled: _Compiled, row: Sequence[Any]) -> Model:
        db = _db()
        if compiled.converters:
            row = list(row)
            for index, (converters, expression) in compiled.converters.items():
                value = row[index]
                for converter in converters:
                    value = converter(value, expression, db)
                row[index] = value
        start, end = compiled.model_columns
        obj = compiled.model.from_db(db.alias, compiled.init_list, row[start:end])
        for populator in compiled.populators:
            populator.populate(row, obj)
        return obj

    def _compile(self) -> _Compiled:
        queryset = self._build(**self._sample)
        compiler = queryset.query.get_compiler(connection.alias)
        sql, params = compiler.as_sql()
        slots: list[tuple[str | None, Any]] = []
        for param in params:
            names = [name for name, value in self._sample.items() if value == param]
            slots.append((names[0], None) if names else (None, param))
        taken = [name for name, _ in slots if name is not None]
        if sorted(taken) != sorted(self._sample):
            raise ValueError(f"each sample value must be one parameter of the SQL: {params}")
        klass_info, select = compiler.klass_info, compiler.select
        columns = klass_info["select_fields"]
        compiled = _Compiled(
            sql=sql, params=slots, for_update=queryset.query.select_for_update,
            model=klass_info["model"], model_columns=(columns[0], columns[-1] + 1),
            init_list=[s[0].target.attname for s in select[columns[0]:columns[-1] + 1]],
            populators=get_related_populators(klass_info, select, connection.alias),
            converters=compiler.get_converters([s[0] for s in select[:compiler.col_count]]),
        )
        self._compiled[connection.alias] = compiled
        return compiled


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: list[tuple[str | None, Any]]  # (value's name, or None and a constant of the SQL)
    for_update: bool
    model: type[Model]
    model_columns: tuple[int, int]
    init_list: list[str]
    populators: list[Any]  # django's RelatedPopulator: stateless across rows
    converters: dict[int, tuple[list[Callable], Any]]
