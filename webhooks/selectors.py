"""Reads of webhook objects. Every selector takes the tenant and the key's environment: nothing
crosses tenants, and a test key never reaches live endpoints, events or deliveries (nor the
reverse). An endpoint has the environment of the key that created it; a delivery, its
endpoint's; an event, its note's (or inutilização's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from tenants.models import Tenant
from webhooks.models import Attempt, Delivery, Endpoint, Event


def endpoint_list(*, tenant: Tenant, environment: str) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(tenant=tenant, environment=environment, deleted_at=None)


def endpoint_get(*, tenant: Tenant, environment: str, pk: int | str) -> Endpoint:
    # Another tenant's endpoint (or the other environment's) is a 404, never a 403: its
    # existence is not revealed.
    return get_object_or_404(endpoint_list(tenant=tenant, environment=environment), pk=pk)


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


# Reference: FocusNFe/api-doc ``_webhooks.md`` "Monitoramento de Reputação": Focus judges a
# hook over a rolling window of the last 2 days, and ``GET /v2/hooks/ID`` answers that window's
# counts (``count_since``, ``request_count``, ``error_count``, ``success_count``).
HOOK_HEALTH_WINDOW = timedelta(days=2)


@dataclass(frozen=True)
class HookHealth:
    count_since: datetime
    request_count: int
    error_count: int
    success_count: int


def hook_health(*, endpoint: Endpoint, now: datetime | None = None) -> HookHealth:
    """Delivery attempts to one hook in Focus's metrics window, from our own Attempt rows.

    One aggregate query whatever the number of attempts. Every attempt counts once, retries
    included (Focus: "tentativas de entrega"); an attempt fails when it was not a 2xx, including
    no answer at all. The window does not start before the hook existed: nothing was counted
    before that.
    """
    now = now or timezone.now()
    # Whole seconds, as count_since is shown: what is counted starts exactly where it says.
    since = max(now - HOOK_HEALTH_WINDOW, endpoint.created_at).replace(microsecond=0)
    counts = Attempt.objects.filter(
        delivery__endpoint=endpoint, started_at__gte=since
    ).aggregate(
        request_count=Count("id"),
        success_count=Count("id", filter=Q(succeeded=True)),
    )
    requests, successes = counts["request_count"], counts["success_count"]
    return HookHealth(count_since=since, request_count=requests,
                      error_count=requests - successes, success_count=successes)


def _events(*, tenant: Tenant, environment: str) -> QuerySet[Event]:
    # An event with no environment (about neither a note nor an inutilização) goes to every
    # endpoint of the tenant (webhooks.events.endpoint_matches), so both environments may read it.
    return Event.objects.filter(Q(environment=environment) | Q(environment=""), tenant=tenant)


def event_feed(*, tenant: Tenant, environment: str, after: int = 0,
               types: list[str] | None = None) -> QuerySet[Event]:
    """The tenant's events of one environment in sequence order (test events have none and
    are not in it). Sequences are per tenant, so one environment's feed has gaps: readers
    page by ``after``, never by counting."""
    qs = _events(tenant=tenant, environment=environment).filter(
        sequence__gt=after
    ).order_by("sequence")
    if types:
        qs = qs.filter(type__in=types)
    return qs


def event_get(*, tenant: Tenant, environment: str, pk: int | str) -> Event:
    return get_object_or_404(_events(tenant=tenant, environment=environment), pk=pk)


def delivery_list(*, tenant: Tenant, environment: str, endpoint_id: int | None = None,
                  state: str | None = None, event_id: int | None = None,
                  note_id: int | None = None) -> QuerySet[Delivery]:
    qs = Delivery.objects.filter(
        tenant=tenant, endpoint__environment=environment
    ).select_related("event")
    if endpoint_id is not None:
        qs = qs.filter(endpoint_id=endpoint_id)
    if state:
        qs = qs.filter(state=state)
    if event_id is not None:
        qs = qs.filter(event_id=event_id)
    if note_id is not None:
        qs = qs.filter(event__note_id=note_id)
    return qs


def delivery_get(*, tenant: Tenant, environment: str, pk: int | str) -> Delivery:
    return get_object_or_404(
        Delivery.objects.select_related("event"), tenant=tenant,
        endpoint__environment=environment, pk=pk,
    )


def attempt_list(*, delivery: Delivery) -> QuerySet[Attempt]:
    return Attempt.objects.filter(delivery=delivery)
