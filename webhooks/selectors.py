"""Reads of webhook objects. Every selector takes the tenant: nothing crosses tenants."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from fiscal.models import Note
from tenants.models import Tenant
from webhooks.models import Attempt, Delivery, Endpoint, Event


def endpoint_list(*, tenant: Tenant) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(tenant=tenant, deleted_at=None)


def endpoint_get(*, tenant: Tenant, pk: int | str) -> Endpoint:
    # Another tenant's endpoint is a 404, never a 403: its existence is not revealed.
    return get_object_or_404(Endpoint, tenant=tenant, pk=pk, deleted_at=None)


def hook_list(*, tenant: Tenant, environment: str) -> QuerySet[Endpoint]:
    """Focus-style hooks: per token, i.e. per tenant and environment (/v2/hooks)."""
    return (
        Endpoint.objects.filter(tenant=tenant, environment=environment, deleted_at=None)
        .exclude(focus_event="")
        .select_related("empresa")
        .order_by("id")
    )


def hook_get(*, tenant: Tenant, environment: str, public_id: str) -> Endpoint | None:
    return hook_list(tenant=tenant, environment=environment).filter(public_id=public_id).first()


def event_feed(*, tenant: Tenant, after: int = 0, types: list[str] | None = None
               ) -> QuerySet[Event]:
    """The tenant's events in sequence order (test events have none and are not in it)."""
    qs = Event.objects.filter(tenant=tenant, sequence__gt=after).order_by("sequence")
    if types:
        qs = qs.filter(type__in=types)
    return qs


def event_get(*, tenant: Tenant, pk: int | str) -> Event:
    return get_object_or_404(Event, tenant=tenant, pk=pk)


def delivery_list(*, tenant: Tenant, endpoint_id: int | None = None, state: str | None = None,
                  event_id: int | None = None, note_id: int | None = None
                  ) -> QuerySet[Delivery]:
    qs = Delivery.objects.filter(tenant=tenant).select_related("event")
    if endpoint_id is not None:
        qs = qs.filter(endpoint_id=endpoint_id)
    if state:
        qs = qs.filter(state=state)
    if event_id is not None:
        qs = qs.filter(event_id=event_id)
    if note_id is not None:
        qs = qs.filter(event__note_id=note_id)
    return qs


def delivery_get(*, tenant: Tenant, pk: int | str) -> Delivery:
    return get_object_or_404(Delivery.objects.select_related("event"), tenant=tenant, pk=pk)


def attempt_list(*, delivery: Delivery) -> QuerySet[Attempt]:
    return Attempt.objects.filter(delivery=delivery)


def note_get(*, tenant: Tenant, pk: int | str) -> Note:
    return get_object_or_404(Note, tenant=tenant, pk=pk)


def note_find(*, tenant: Tenant, environment: str, doc_type: str, ref: str) -> Note | None:
    """A note as the facade addresses it: by the key's environment, document type and ref."""
    return Note.objects.filter(
        tenant=tenant, environment=environment, doc_type=doc_type, ref=ref
    ).select_related("empresa").first()


def note_deliveries(*, tenant: Tenant, note: Note) -> QuerySet[Delivery]:
    """A note's webhook deliveries, for its timeline."""
    return delivery_list(tenant=tenant, note_id=note.pk).select_related("endpoint")
