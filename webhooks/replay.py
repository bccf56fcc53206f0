"""Replay: a delivery (or all of an endpoint's failures, or all of a note's) sent again.

A replay starts a new schedule and keeps the webhook-id, so receivers can deduplicate. A staff
user's replay goes on the note's timeline with their name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from core.errors import Conflict
from fiscal.models import Note, NoteEvent
from tenants.models import Tenant
from webhooks.dispatch import clock, kick_on_commit
from webhooks.models import Delivery, DeliveryState, Endpoint, Event, check_delivery_transition


def _replay(queryset: Any, *, now: datetime) -> int:
    """Start a new schedule for these deliveries, keeping their webhook-id."""
    with transaction.atomic():
        ids = list(
            queryset.filter(state__in=[
                DeliveryState.SUCCEEDED, DeliveryState.FAILED, DeliveryState.PENDING,
            ]).values_list("pk", flat=True)
        )
        for source in (DeliveryState.SUCCEEDED, DeliveryState.FAILED, DeliveryState.PENDING):
            check_delivery_transition(source, DeliveryState.PENDING)
        Delivery.objects.filter(pk__in=ids, state__in=[
            DeliveryState.SUCCEEDED, DeliveryState.FAILED, DeliveryState.PENDING,
        ]).update(
            state=DeliveryState.PENDING, attempts=0, updated_at=now,
            # A disabled endpoint's deliveries stay paused until it is re-enabled.
            next_attempt_at=None,
        )
        Delivery.objects.filter(pk__in=ids, endpoint__is_active=True).update(next_attempt_at=now)
        kick_on_commit(ids)
    return len(ids)


def _operator_note_event(note_id: int | None, by: str, message: str, **data: Any) -> None:
    """A staff action on a note's webhooks goes on the note's timeline, naming the staff user."""
    if note_id is not None and by:
        NoteEvent.objects.create(note_id=note_id, kind=NoteEvent.Kind.OPERATOR,
                                 message=f"{message} by {by}", data={"by": by, **data})


def delivery_replay(*, delivery: Delivery, now: datetime | None = None,
                    by: str = "") -> Delivery:
    """``by``: the staff user who asked; named on the note's timeline."""
    if delivery.state in {DeliveryState.SENDING, DeliveryState.CANCELLED}:
        raise Conflict(f"A {delivery.state} delivery cannot be replayed.",
                       code="delivery_not_replayable")
    with transaction.atomic():
        _replay(Delivery.objects.filter(pk=delivery.pk), now=now or clock())
        _operator_note_event(
            Event.objects.filter(pk=delivery.event_id).values_list("note_id", flat=True).first(),
            by, "webhook delivery replayed", webhook_id=delivery.webhook_id,
        )
    delivery.refresh_from_db()
    return delivery


def endpoint_replay_failed(*, endpoint: Endpoint, since: datetime,
                           now: datetime | None = None) -> int:
    """Every failed delivery of the endpoint created since ``since``, sent again."""
    return _replay(
        Delivery.objects.filter(endpoint=endpoint, state=DeliveryState.FAILED,
                                created_at__gte=since),
        now=now or clock(),
    )


def note_replay(*, tenant: Tenant, note: Note, now: datetime | None = None,
                by: str = "") -> int:
    """Every delivery of every event of the note, sent again (same webhook-ids).

    ``by``: the staff user who asked; named on the note's timeline."""
    with transaction.atomic():
        count = _replay(
            Delivery.objects.filter(tenant=tenant, event__note=note, endpoint__deleted_at=None),
            now=now or clock(),
        )
        _operator_note_event(note.pk, by, "webhooks replayed", deliveries=count)
    return count
