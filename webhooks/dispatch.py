"""When deliveries go out: claims, the per-endpoint cap, the fast path and the dispatcher.

1. After the transaction that wrote deliveries commits, ``kick_on_commit`` claims the due ones
   and enqueues one task each (the fast path). It is an accelerator only.
2. ``dispatch_due`` (Celery beat, every second) claims what is due with conditional updates,
   at most ``FG_WEBHOOKS_MAX_IN_FLIGHT`` per endpoint, and enqueues them: if Redis lost a
   message, the row is found again.
3. After a success the task keeps its slot: ``endpoint_claim_next`` claims the endpoint's next
   due delivery for the same worker (one statement, no Celery message, the same keep-alive
   connection). When the task's turn is over, ``endpoint_drain`` hands the freed slot on.

Times: every function takes ``now=`` (default ``clock()``) so schedules are testable without
sleeping.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from core import statements
from core.claims import claim
from webhooks.models import Delivery, DeliveryState, Endpoint, check_delivery_transition

logger = logging.getLogger("webhooks")


Enqueue = Callable[[int, str], None]

# Sent by name: webhooks/tasks.py imports this module, so this module never imports it. A
# signature by name runs the registered task where this process has it (eager mode), and is a
# plain send by name everywhere else.
DELIVER_TASK = "webhooks.tasks.deliver"


def clock() -> datetime:
    """The one clock of the schedule; tests pass ``now=`` instead of sleeping."""
    return timezone.now()


def _celery_enqueue(delivery_id: int, claim_token: str) -> None:
    current_app.signature(DELIVER_TASK).apply_async(args=[delivery_id, claim_token],
                                                    queue="webhooks")


def delivery_move(delivery_id: int, *, source: str, target: str,
                  where: dict[str, Any] | None = None, rows: QuerySet[Delivery] | None = None,
                  **changes: Any) -> bool:
    """Move one delivery from ``source`` to ``target`` if it is still in ``source`` (and still
    matches ``where``, within ``rows``): a claim, checked against DELIVERY_TRANSITIONS. True
    if this call did."""
    check_delivery_transition(source, target)
    return claim(Delivery if rows is None else rows, delivery_id,
                 where={"state": source, **(where or {})}, state=target, **changes)


def _claim(candidates: list[tuple[int, int]], *, now: datetime, enqueue: Enqueue | None) -> int:
    """Claim and enqueue (delivery id, endpoint id) pairs, at most the cap per endpoint."""
    if not candidates:
        return 0
    enqueue = enqueue or _celery_enqueue
    cap = settings.FG_WEBHOOKS_MAX_IN_FLIGHT
    claimed = 0
    full: set[int] = set()
    for delivery_id, endpoint_id in candidates:
        if endpoint_id in full:
            continue
        token = secrets.token_hex(8)
        if not _claim_one(delivery_id, endpoint_id, token=token, now=now, cap=cap):
            # Someone else claimed it, it was replayed / paused meanwhile, or the endpoint is
            # at its cap: the rest of its candidates wait too (the order is kept).
            if not Delivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING,
                                           next_attempt_at__lte=now).exists():
                continue
            full.add(endpoint_id)
            continue
        claimed += 1
        _send_or_give_back(delivery_id, token, enqueue)
    return claimed


def _claim_sql(which: str) -> str:
    """A delivery's claim, pending to sending, as one statement: ``which`` is the condition
    that names the delivery; the endpoint's cap is counted in the same statement, the
    caller's own earlier claims included. Parameters: state, claim token, claimed at, those
    of ``which``, then the endpoint's id, the sending state and the cap."""
    delivery = statements.table(Delivery)
    return (
        f"UPDATE {delivery} SET state = %s, claim_token = %s, claimed_at = %s "  # noqa: S608
        f"WHERE {which} "
        f"AND (SELECT COUNT(*) FROM {delivery} WHERE endpoint_id = %s AND state = %s) < %s "
        "RETURNING id"
    )


def _claim_one(delivery_id: int, endpoint_id: int, *, token: str, now: datetime,
               cap: int) -> bool:
    """Move one delivery from pending to sending if it is still pending and due, and its
    endpoint has fewer than ``cap`` in flight (``_claim_sql``). Plain SQL: the fast path runs
    it in the request that settled the note, where compiling it cost more than running it."""
    check_delivery_transition(DeliveryState.PENDING, DeliveryState.SENDING)
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql("id = %s AND state = %s AND next_attempt_at <= %s"), [
            DeliveryState.SENDING, token, at, delivery_id, DeliveryState.PENDING, at,
            endpoint_id, DeliveryState.SENDING, cap,
        ])
        return cursor.fetchone() is not None


def _send_or_give_back(delivery_id: int, token: str, enqueue: Enqueue) -> bool:
    try:
        enqueue(delivery_id, token)
    except Exception:
        # The broker is down: give the row back, the next dispatcher run tries again.
        logger.exception("could not enqueue webhook delivery %s", delivery_id)
        delivery_move(delivery_id, source=DeliveryState.SENDING,
                      target=DeliveryState.PENDING, where={"claim_token": token},
                      claim_token="", claimed_at=None)
        return False
    return True


def _kick(delivery_ids: list[int]) -> None:
    try:
        now = clock()
        rows = Delivery.objects.filter(
            pk__in=delivery_ids, state=DeliveryState.PENDING, next_attempt_at__lte=now,
            endpoint__is_active=True,
        ).order_by("pk").values_list("pk", "endpoint_id")
        _claim(list(rows), now=now, enqueue=None)
    except Exception:
        # The fast path is an accelerator: the dispatcher finds these rows anyway.
        logger.exception("webhook fast path failed; the dispatcher will send them")


def kick_on_commit(delivery_ids: list[int]) -> None:
    if delivery_ids:
        transaction.on_commit(lambda: _kick(delivery_ids))


def _kick_new(candidates: list[tuple[int, int]]) -> None:
    try:
        _claim(sorted(candidates), now=clock(), enqueue=None)
    except Exception:
        logger.exception("webhook fast path failed; the dispatcher will send them")


def kick_new_on_commit(candidates: list[tuple[int, int]]) -> None:
    """``kick_on_commit`` for deliveries just written due now to active endpoints, as
    (delivery id, endpoint id): not read back first. The claim is conditional anyway (still
    pending and due), and one whose endpoint is paused meanwhile is released by its task."""
    if candidates:
        transaction.on_commit(lambda: _kick_new(candidates))


def endpoint_drain(*, endpoint_id: int, now: datetime | None = None,
                   enqueue: Enqueue | None = None) -> int:
    """After a success, hand the freed slot to the endpoint's next due delivery at once.

    Without it a backlog (a re-enabled endpoint, a burst) would drain at the cap per
    dispatcher tick; with it a healthy endpoint drains as fast as it answers, still never more
    than the cap at once. Failing endpoints get no hand-off: their retries keep the schedule.
    """
    now = now or clock()
    enqueue = enqueue or _celery_enqueue
    claimed = 0
    # One plain statement per slot (endpoint_claim_next: oldest due first, within the cap),
    # until the cap is reached or nothing is due.
    for _ in range(settings.FG_WEBHOOKS_MAX_IN_FLIGHT):
        taken = endpoint_claim_next(endpoint_id=endpoint_id, now=now)
        if taken is None:
            break
        claimed += 1
        if not _send_or_give_back(*taken, enqueue):
            break
    return claimed


def _claim_next_sql() -> str:
    delivery = statements.table(Delivery)
    endpoint = statements.table(Endpoint)
    # Postgres: SKIP LOCKED, so two workers chaining on one endpoint take two different rows
    # instead of queueing on the same one and the loser ending its turn. (SQLite has no row
    # locks and one writer: the plain subquery is enough there.)
    lock = (" FOR UPDATE OF d SKIP LOCKED"
            if connection.features.has_select_for_update_skip_locked else "")
    return _claim_sql(
        f"id = (SELECT d.id FROM {delivery} d INNER JOIN {endpoint} e "  # noqa: S608
        "ON e.id = d.endpoint_id WHERE d.endpoint_id = %s AND d.state = %s "
        "AND d.next_attempt_at <= %s AND e.is_active "
        f"ORDER BY d.next_attempt_at, d.id LIMIT 1{lock})"
    )


def endpoint_claim_next(*, endpoint_id: int, now: datetime | None = None
                        ) -> tuple[int, str] | None:
    """Claim the endpoint's next due delivery for the caller, who sends it itself: (id,
    claim token), or None when nothing is due, the endpoint is paused or at its cap.

    One statement: the pick (oldest due first, the order the dispatcher keeps), the cap (the
    endpoint's deliveries in flight, counted in the same statement as ``_claim`` does) and
    the move from pending to sending.
    """
    now = now or clock()
    check_delivery_transition(DeliveryState.PENDING, DeliveryState.SENDING)
    token = secrets.token_hex(8)
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_claim_next_sql(), [
            DeliveryState.SENDING, token, at, endpoint_id, DeliveryState.PENDING, at,
            endpoint_id, DeliveryState.SENDING, settings.FG_WEBHOOKS_MAX_IN_FLIGHT,
        ])
        row = cursor.fetchone()
    return None if row is None else (row[0], token)


def dispatch_due(*, now: datetime | None = None, limit: int | None = None,
                 enqueue: Enqueue | None = None) -> int:
    """Claim due deliveries (fairly across endpoints) and enqueue them. Returns how many."""
    now = now or clock()
    limit = limit or settings.FG_WEBHOOKS_DISPATCH_BATCH
    # Claims whose worker died or whose message was lost come back after the claim timeout;
    # a late task then finds a new claim token and does nothing.
    stale = now - timedelta(seconds=settings.FG_WEBHOOKS_CLAIM_TIMEOUT)
    check_delivery_transition(DeliveryState.SENDING, DeliveryState.PENDING)
    Delivery.objects.filter(state=DeliveryState.SENDING, claimed_at__lt=stale).update(
        state=DeliveryState.PENDING, claim_token="", claimed_at=None, next_attempt_at=now,
    )
    # At most `cap` candidates per endpoint, so one endpoint's backlog cannot fill the batch
    # and starve the others (window functions: Postgres and SQLite alike).
    due = (
        Delivery.objects.filter(
            state=DeliveryState.PENDING, next_attempt_at__lte=now, endpoint__is_active=True,
        )
        .annotate(rank=Window(RowNumber(), partition_by=[F("endpoint_id")],
                              order_by=[F("next_attempt_at").asc(), F("id").asc()]))
        .filter(rank__lte=settings.FG_WEBHOOKS_MAX_IN_FLIGHT)
        .order_by("next_attempt_at", "id")
        .values_list("pk", "endpoint_id")[:limit]
    )
    return _claim(list(due), now=now, enqueue=enqueue)
