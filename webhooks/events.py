"""Events and their deliveries as rows: what a tenant is told, and which endpoints hear it.

``on_fiscal_change`` (a ``FG_CHANGE_SUBSCRIBERS`` entry) runs inside the fiscal transaction and
writes an Event with the tenant's next sequence and one Delivery per matching endpoint, due now.
It never does HTTP: the deliveries go out after commit (webhooks/dispatch.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils.crypto import get_random_string

from core import statements
from fiscal.changes import FiscalChange
from fiscal.models import Note, NoteEvent
from fiscal.render import note_consulta
from fiscal.services import timeline_add
from tenants.models import Empresa, Tenant
from webhooks.dispatch import clock, kick_new_on_commit
from webhooks.models import (
    Delivery,
    DeliveryState,
    Endpoint,
    Event,
    EventType,
    TenantEventCounter,
)

_MODELO_DOC_TYPE = {"55": "nfe", "65": "nfce"}


def _next_sequence(tenant_id: int) -> int:
    """The tenant's next event sequence. Must run inside the caller's transaction.

    ``UPDATE ... SET last_sequence = last_sequence + 1`` locks the counter row until commit, so
    a second transaction of the same tenant waits, then reads the committed value: sequences
    commit in increasing order, and a feed reader at ``after=N`` can never skip one that a
    slower transaction commits later.
    """
    table = statements.table(TenantEventCounter)
    # One round trip: the ORM's update() cannot return the new value (Postgres and SQLite
    # 3.35+ both have RETURNING).
    sql = (f"UPDATE {table} SET last_sequence = last_sequence + 1 "  # noqa: S608 - model's table
           "WHERE tenant_id = %s RETURNING last_sequence")
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant_id])
        row = cursor.fetchone()
        if row is None:
            TenantEventCounter.objects.bulk_create(
                [TenantEventCounter(tenant_id=tenant_id, last_sequence=0)],
                ignore_conflicts=True,
            )
            cursor.execute(sql, [tenant_id])
            row = cursor.fetchone()
    return row[0]


def _event_create(event: Event) -> Event:
    """Insert ``event`` with its tenant's next sequence (``_next_sequence``'s rule and lock).

    On Postgres in one statement: the counter's ``UPDATE ... RETURNING`` feeds the INSERT."""
    if connection.vendor != "postgresql":
        event.sequence = _next_sequence(event.tenant_id)
        event.save(force_insert=True)
        return event
    fields = [f for f in Event._meta.concrete_fields if f.name not in ("id", "sequence")]
    params = statements.prepared_for_insert(event, fields)
    columns = statements.columns([Event._meta.get_field("sequence"), *fields])
    sql = (
        f"WITH seq AS (UPDATE {statements.table(TenantEventCounter)} "  # noqa: S608
        "SET last_sequence = last_sequence + 1 WHERE tenant_id = %s RETURNING last_sequence) "
        f"INSERT INTO {statements.table(Event)} ({columns}) "
        f"SELECT seq.last_sequence, {statements.placeholders(len(fields))} FROM seq "
        "RETURNING id, sequence"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [event.tenant_id, *params])
        row = cursor.fetchone()
        if row is None:  # the tenant's first event: its counter row does not exist yet
            TenantEventCounter.objects.bulk_create(
                [TenantEventCounter(tenant_id=event.tenant_id, last_sequence=0)],
                ignore_conflicts=True,
            )
            cursor.execute(sql, [event.tenant_id, *params])
            row = cursor.fetchone()
    statements.mark_saved(event, row[0])
    event.sequence = row[1]
    return event


def endpoint_matches(endpoint: Endpoint, event: Event) -> bool:
    if endpoint.deleted_at is not None:
        return False
    if event.environment and endpoint.environment != event.environment:
        return False
    if endpoint.event_types and event.type not in endpoint.event_types:
        return False
    if endpoint.doc_types and event.doc_type not in endpoint.doc_types:
        return False
    return endpoint.empresa_id is None or endpoint.empresa_id == event.empresa_id


def deliveries_create(event: Event, endpoints: Iterable[Endpoint], *, now: datetime
                       ) -> list[Delivery]:
    deliveries = [
        Delivery(
            tenant_id=event.tenant_id, event=event, endpoint=endpoint,
            webhook_id=f"msg_{get_random_string(24)}", state=DeliveryState.PENDING,
            # A disabled endpoint keeps what it is owed, not due until it is re-enabled.
            next_attempt_at=now if endpoint.is_active else None,
        )
        for endpoint in endpoints
    ]
    # Postgres returns the ids; SQLite (3.35+) too, through RETURNING.
    return statements.insert(deliveries)


# Read with every event (core.statements: compiled once per process).
_TENANT_ENDPOINTS = statements.PreparedSelect(
    lambda tenant_id: Endpoint.objects.filter(tenant_id=tenant_id, deleted_at=None),
    tenant_id=-7_000_005,
)


def event_record(
    *,
    tenant: Tenant,
    type: str,
    data: dict[str, Any],
    environment: str = "",
    doc_type: str = "",
    note: Note | None = None,
    empresa: Empresa | None = None,
    now: datetime | None = None,
) -> Event:
    """Write an event and its deliveries (rows only); deliveries go out after commit."""
    now = now or clock()
    # No savepoint when nested (the fiscal transaction): nothing catches an error here to
    # carry on, so the outer transaction is the one that rolls back.
    with transaction.atomic(savepoint=False):
        event = _event_create(Event(
            tenant=tenant, type=type, environment=environment, doc_type=doc_type, note=note,
            empresa=empresa, data=data, created_at=now,
        ))
        endpoints = [endpoint for endpoint in _TENANT_ENDPOINTS.all(tenant_id=tenant.pk)
                     if endpoint_matches(endpoint, event)]
        deliveries = deliveries_create(event, endpoints, now=now)
        if note is not None:
            timeline_add(NoteEvent(
                note=note, kind=NoteEvent.Kind.WEBHOOK_EMITTED,
                message=f"{type} (event #{event.sequence}) to {len(deliveries)} endpoint(s)",
                data={"event_id": event.pk, "type": type, "sequence": event.sequence,
                      "deliveries": [d.webhook_id for d in deliveries]},
            ))
        kick_new_on_commit([(d.pk, d.endpoint_id) for d in deliveries
                        if d.next_attempt_at is not None])
    return event


def on_fiscal_change(change: FiscalChange) -> None:
    """FG_CHANGE_SUBSCRIBERS hook: called inside the fiscal transaction. Rows only, no I/O."""
    environment = doc_type = ""
    if change.note is not None:
        environment, doc_type = change.note.environment, change.note.doc_type
    elif change.inutilizacao is not None:
        environment = change.inutilizacao.environment
        doc_type = _MODELO_DOC_TYPE.get(change.inutilizacao.modelo, "")
    event_record(
        tenant=change.tenant, type=str(change.type), data=change.data,
        environment=environment, doc_type=doc_type, note=change.note, empresa=change.empresa,
    )


def note_resend(*, tenant: Tenant, note: Note, now: datetime | None = None) -> list[Endpoint]:
    """POST /v2/<doc>/<ref>/hook: the note's current consulta, as a new delivery to every
    endpoint that would hear of it. Returns the endpoints it goes to (Focus answers them)."""
    event = event_record(
        tenant=tenant, type=EventType.NOTE_RESENT, data=note_consulta(note),
        environment=note.environment, doc_type=note.doc_type, note=note, empresa=note.empresa,
        now=now,
    )
    return [d.endpoint for d in event.deliveries.select_related("endpoint__empresa")]
