"""One delivery attempt: render the body, sign it, POST it, record the Attempt, move on.

``delivery_attempt`` sends one claimed delivery once and moves it on: succeeded, due again
later, failed for good, or paused with its endpoint. ``deliveries_send`` (the task's service)
runs it, and after each success takes the endpoint's next due delivery itself for a short
turn. Only 2xx succeeds; a 3xx is never followed. Signatures always use the wall clock:
receivers check it against their own.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, connections
from django.db.models import Field, Model
from django.utils import timezone
from standardwebhooks import Webhook

from core import statements
from core.claims import claim
from core.logging import log_bind
from webhooks import transport
from webhooks.dispatch import clock, delivery_move, endpoint_claim_next, endpoint_drain
from webhooks.endpoints import endpoint_disable
from webhooks.models import (
    Attempt,
    Delivery,
    DeliveryState,
    Endpoint,
    EndpointFormat,
    Event,
    check_delivery_transition,
)

logger = logging.getLogger("webhooks")
_rng = secrets.SystemRandom()

# A worker's turn on one healthy endpoint: after a success it claims that endpoint's next due
# delivery itself (no Celery round trip, the same keep-alive connection), for at most this long
# and this many; then the freed slot is handed on through Celery (endpoint_drain), so tasks
# queued for other endpoints get the worker. A turn starts its last attempt before
# TURN_SECONDS, so it ends within TURN_SECONDS + FG_WEBHOOKS_TIMEOUT: inside the task's limit.
TURN_SECONDS = 2.0
TURN_DELIVERIES = 100


def _dumps(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def envelope(event: Event) -> dict[str, Any]:
    """The ``event`` format body, and the feed's item."""
    return {
        "id": event.public_id,
        "type": event.type,
        "sequence": event.sequence,
        "created_at": event.created_at.isoformat(),
        "environment": event.environment or None,
        "doc_type": event.doc_type or None,
        "note_id": event.note_id,
        "data": event.data,
    }


def render_body(delivery: Delivery) -> str:
    if delivery.endpoint.format == EndpointFormat.FOCUS:
        # Exactly what Focus's hook posts: the consulta JSON, nothing around it.
        return _dumps(delivery.event.data)
    return _dumps(envelope(delivery.event))


def signed_headers(*, endpoint: Endpoint, webhook_id: str, body: str,
                   now: datetime | None = None) -> dict[str, str]:
    """Standard Webhooks headers, signed by the maintained implementation.

    During a rotation both secrets sign: receivers on either secret verify.
    """
    now = now or clock()
    sent_at = timezone.now()
    signatures = [Webhook(endpoint.secret).sign(webhook_id, sent_at, body)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires and expires > now:
        signatures.append(Webhook(endpoint.previous_secret).sign(webhook_id, sent_at, body))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "FiscalGateway-Webhooks/1.0",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
    if endpoint.authorization:
        # Focus's hook contract: the static value, in the header the tenant named.
        headers[endpoint.authorization_header or "Authorization"] = endpoint.authorization
    return headers


def retry_delay(attempts: int, retry_after: float | None = None) -> float | None:
    """Seconds until the next try after ``attempts`` failures; None when the schedule ran out.

    A receiver's Retry-After replaces the scheduled delay (bounded); otherwise the schedule's
    step is stretched by random jitter so retries of many deliveries do not arrive together.
    """
    schedule = settings.FG_WEBHOOKS_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    if retry_after is not None:
        return min(max(retry_after, 1.0), float(settings.FG_WEBHOOKS_MAX_RETRY_AFTER))
    jitter = settings.FG_WEBHOOKS_RETRY_JITTER
    return schedule[attempts - 1] * (1 + _rng.uniform(-jitter, jitter))


@dataclass(frozen=True)
class Outcome:
    status: str  # succeeded | retry | failed | paused | not_claimed
    attempt: Attempt | None = None
    endpoint_id: int | None = None


def _release(delivery: Delivery, token: str, *, state: str, **changes: Any) -> bool:
    """End this worker's claim: the delivery leaves ``sending`` for ``state``."""
    return delivery_move(delivery.pk, source=DeliveryState.SENDING, target=state,
                         where={"claim_token": token}, claim_token="", claimed_at=None,
                         **changes)


# The statements every attempt makes (load the claimed delivery with its event and endpoint,
# INSERT its Attempt, on success move it to succeeded) as plain SQL: building them through the
# ORM cost the worker more CPU (1.3, 0.5 and 0.8 ms on the benchmark machine) than Postgres
# spends running them (bench/PROFILE.md, round 3). The values still go through the fields
# (prepared for saving, converted when read), so the rows are what the ORM would write and
# read. The rarer moves (retry, failed, paused) keep the ORM claims.

def _selected(model: type[Model], alias: str) -> tuple[str, list[Field], list[list[Any]]]:
    """The columns of ``model`` as ``alias.column``, its fields, and each field's converters
    (the backend's, then the field's own: what the ORM applies to a fetched value)."""
    fields = list(model._meta.concrete_fields)
    columns = ", ".join(f"{alias}.{statements.quote(f.column)}" for f in fields)
    converters = []
    for field in fields:
        col = field.get_col(alias)
        converters.append((col, [*connection.ops.get_db_converters(col),
                                 *col.get_db_converters(connection)]))
    return columns, fields, converters


def _instance(model: type[Model], fields: list[Field], converters: list[Any],
              values: tuple[Any, ...]) -> Any:
    converted = []
    for (col, convert), value in zip(converters, values, strict=True):
        for converter in convert:
            value = converter(value, col, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


_LOAD_PARTS: list[tuple[type[Model], str]] = [(Delivery, "d"), (Event, "e"), (Endpoint, "p")]
# The load's SQL and converters, built once per database connection object (a thread's or a
# worker process's): the converters are the backend's, bound to it.
_load_cache: weakref.WeakKeyDictionary[Any, tuple[str, list[Any]]] = (
    weakref.WeakKeyDictionary())


def _load_sql() -> tuple[str, list[Any]]:
    wrapper = connections[connection.alias]
    cached = _load_cache.get(wrapper)
    if cached is None:
        selected = [_selected(model, alias) for model, alias in _LOAD_PARTS]
        sql = (
            f"SELECT {', '.join(columns for columns, _, _ in selected)} "  # noqa: S608
            f"FROM {statements.table(Delivery)} d "
            f"INNER JOIN {statements.table(Event)} e ON e.id = d.event_id "
            f"INNER JOIN {statements.table(Endpoint)} p ON p.id = d.endpoint_id "
            "WHERE d.id = %s AND d.state = %s AND d.claim_token = %s"
        )
        cached = _load_cache[wrapper] = (sql, selected)
    return cached


def _load_claimed(delivery_id: int, token: str) -> Delivery | None:
    """The delivery with its event and endpoint, if it is still sending under ``token``: what
    ``select_related("event", "endpoint").get(...)`` returns, in one plain statement."""
    sql, selected = _load_sql()
    parts = _LOAD_PARTS
    with connection.cursor() as cursor:
        cursor.execute(sql, [delivery_id, DeliveryState.SENDING, token])
        row = cursor.fetchone()
    if row is None:
        return None
    instances = []
    start = 0
    for (model, _), (_, fields, converters) in zip(parts, selected, strict=True):
        values = row[start:start + len(fields)]
        instances.append(_instance(model, fields, converters, values))
        start += len(fields)
    delivery, event, endpoint = instances
    delivery.event, delivery.endpoint = event, endpoint
    return delivery


def _attempt_insert(attempt: Attempt) -> Attempt:
    """INSERT the Attempt (values prepared by its fields, as save() would) and set its id."""
    fields = [f for f in Attempt._meta.concrete_fields if not f.primary_key]
    sql = (
        f"INSERT INTO {statements.table(Attempt)} ({statements.columns(fields)}) "  # noqa: S608
        f"VALUES ({statements.placeholders(len(fields))}) RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, statements.prepared_for_insert(attempt, fields))
        statements.mark_saved(attempt, cursor.fetchone()[0])
    return attempt


def _release_succeeded(delivery: Delivery, token: str, *, now: datetime,
                       status_code: int | None) -> bool:
    """``_release`` to succeeded: still sending under this claim token, or nothing changes."""
    check_delivery_transition(DeliveryState.SENDING, DeliveryState.SUCCEEDED)
    at = connection.ops.adapt_datetimefield_value(now)
    sql = (
        f"UPDATE {statements.table(Delivery)} "  # noqa: S608
        "SET state = %s, claim_token = '', claimed_at = NULL, delivered_at = %s, "
        "next_attempt_at = NULL, last_status_code = %s, last_error = '', updated_at = %s "
        "WHERE id = %s AND state = %s AND claim_token = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [DeliveryState.SUCCEEDED, at, status_code, at, delivery.pk,
                             DeliveryState.SENDING, token])
        return cursor.rowcount == 1


def delivery_attempt(*, delivery_id: int, claim_token: str,
                     now: datetime | None = None) -> Outcome:
    """Send one claimed delivery once and move it on. Running it twice does nothing more."""
    now = now or clock()
    delivery = _load_claimed(delivery_id, claim_token)
    if delivery is None:
        return Outcome("not_claimed")
    endpoint = delivery.endpoint
    log_bind(tenant_id=delivery.tenant_id, note_id=delivery.event.note_id)
    if not endpoint.is_active:
        _release(delivery, claim_token, state=DeliveryState.PENDING, next_attempt_at=None,
                 updated_at=now)
        return Outcome("paused")

    body = render_body(delivery)
    headers = signed_headers(endpoint=endpoint, webhook_id=delivery.webhook_id, body=body,
                             now=now)
    status_code: int | None = None
    retry_after: float | None = None
    response_body = error = address = ""
    duration_ms = 0
    try:
        answer = transport.post(endpoint.url, body=body.encode(), headers=headers)
    except transport.TransportError as exc:
        error = str(exc)[:500] or type(exc).__name__
    else:
        status_code, retry_after = answer.status_code, answer.retry_after
        response_body, duration_ms, address = answer.body, answer.duration_ms, answer.address
        if 300 <= status_code < 400:
            error = f"redirect ({status_code}) not followed"
    # Only 2xx is success: 3xx, 4xx and 5xx all fail (a 3xx is never followed).
    ok = status_code is not None and 200 <= status_code < 300
    attempt = _attempt_insert(Attempt(
        delivery=delivery, started_at=now, duration_ms=duration_ms, status_code=status_code,
        response_body=response_body, error=error, address=address, succeeded=ok,
    ))
    common = {"last_status_code": status_code, "last_error": error, "updated_at": now}

    if ok:
        _release_succeeded(delivery, claim_token, now=now, status_code=status_code)
        if endpoint.failing_since is not None:
            # As loaded with the delivery a moment ago: a streak starting in between is
            # cleared by the endpoint's next success.
            claim(Endpoint, endpoint.pk, where={"failing_since__isnull": False},
                  failing_since=None)
        logger.info("webhook delivery %s succeeded (HTTP %s)", delivery.pk, status_code)
        return Outcome("succeeded", attempt, endpoint.pk)

    attempts = delivery.attempts + 1
    if status_code == 410:
        # Gone: the receiver says this URL is finished. Pause, keep what it is owed.
        _release(delivery, claim_token, state=DeliveryState.PENDING, attempts=attempts,
                 next_attempt_at=None, **common)
        endpoint_disable(endpoint=endpoint, now=now,
                         reason="The endpoint answered 410 Gone.")
        return Outcome("paused", attempt, endpoint.pk)

    delay = retry_delay(attempts, retry_after)
    if delay is None:
        _release(delivery, claim_token, state=DeliveryState.FAILED, attempts=attempts,
                 next_attempt_at=None, **common)
        outcome = "failed"
    else:
        _release(delivery, claim_token, state=DeliveryState.PENDING, attempts=attempts,
                 next_attempt_at=now + timedelta(seconds=delay), **common)
        outcome = "retry"
    _note_failure(endpoint, now=now, error=error or f"HTTP {status_code}")
    logger.info("webhook delivery %s failed (%s, attempt %s): %s", delivery.pk, outcome, attempts,
                error or f"HTTP {status_code}")
    return Outcome(outcome, attempt, endpoint.pk)


def deliveries_send(*, delivery_id: int, claim_token: str) -> Iterator[Outcome]:
    """Send one claimed delivery, then, while it succeeds and the turn lasts, the endpoint's
    next due ones (each claimed within the per-endpoint cap). Yields each attempt's outcome.

    A failure ends the turn: a failing endpoint keeps its retry schedule and never holds a
    worker longer than one attempt (a hanging endpoint cannot slow the others).
    """
    started = time.monotonic()
    outcome = delivery_attempt(delivery_id=delivery_id, claim_token=claim_token)
    yield outcome
    sent = 1
    while outcome.status == "succeeded" and outcome.endpoint_id is not None:
        if sent >= TURN_DELIVERIES or time.monotonic() - started >= TURN_SECONDS:
            endpoint_drain(endpoint_id=outcome.endpoint_id)
            return
        claimed = endpoint_claim_next(endpoint_id=outcome.endpoint_id)
        if claimed is None:
            return  # nothing due, or the cap is taken by workers that will hand it on
        outcome = delivery_attempt(delivery_id=claimed[0], claim_token=claimed[1])
        yield outcome
        sent += 1


def _note_failure(endpoint: Endpoint, *, now: datetime, error: str) -> None:
    """Track the endpoint's failing streak; disable it once the streak is days long."""
    claim(Endpoint, endpoint.pk, where={"failing_since__isnull": True}, failing_since=now)
    since = Endpoint.objects.filter(pk=endpoint.pk).values_list("failing_since", flat=True).get()
    limit = timedelta(hours=settings.FG_WEBHOOKS_DISABLE_AFTER_HOURS)
    if since is not None and now - since >= limit:
        endpoint_disable(
            endpoint=endpoint, now=now,
            reason=(f"Failing without a success since {since.isoformat()} "
                    f"(last error: {error[:120]})."),
        )
