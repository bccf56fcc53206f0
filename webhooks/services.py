"""Every write of the webhooks app: endpoints, events, deliveries, attempts.

The flow (DESIGN.md §2, §4):
1. ``on_fiscal_change`` (inside the fiscal transaction) writes an Event with the tenant's next
   sequence and one Delivery per matching endpoint, due now; on commit it claims them and
   enqueues one task each (the fast path). It never does HTTP.
2. ``dispatch_due`` (Celery beat, every second) claims what is due with conditional updates,
   at most ``FG_WEBHOOKS_MAX_IN_FLIGHT`` per endpoint, and enqueues them: if Redis lost a
   message, the row is found again.
3. ``delivery_attempt`` (the task) signs and POSTs one delivery, records the Attempt, and moves
   the delivery on: succeeded, due again later, failed for good, or paused with its endpoint.

Times: every function takes ``now=`` (default ``clock()``) so schedules are testable without
sleeping. Signatures always use the wall clock: receivers check it against their own.
"""

from __future__ import annotations

import json
import logging
import secrets
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from standardwebhooks import Webhook

from core.errors import ApiError, Conflict
from core.logging import log_bind
from fiscal.changes import FiscalChange
from fiscal.models import Note, NoteEvent
from fiscal.render import note_consulta
from tenants.models import Empresa, Tenant
from webhooks import transport
from webhooks.models import (
    Attempt,
    Delivery,
    DeliveryState,
    Endpoint,
    EndpointChange,
    EndpointFormat,
    Event,
    EventType,
    TenantEventCounter,
)

logger = logging.getLogger("webhooks")

_ALPHABET = string.ascii_letters + string.digits
_rng = secrets.SystemRandom()

# Focus's hook events (SUPPLEMENT.md, "Hooks") mapped onto our filters: which document types,
# and which of our event types, a /v2/hooks hook of that event hears of. Focus's
# "nfe_recebida", "nfse_recebida", "cte", "mdfe", ... concern documents the gateway does not
# handle: creating such a hook is refused with a message naming the event.
FOCUS_EVENTS: dict[str, tuple[list[str], list[str]]] = {
    # NFe: authorized, rejected, denied, cancelled (or not), CCe, contingency re-sends.
    "nfe": (["nfe"], [
        EventType.NOTE_AUTHORIZED, EventType.NOTE_REJECTED, EventType.NOTE_DENIED,
        EventType.NOTE_CANCELLED, EventType.NOTE_CANCELLATION_FAILED,
        EventType.CORRECTION_REGISTERED, EventType.PREVIOUS_ATTEMPT_CANCELLED,
        EventType.NOTE_RESENT,
    ]),
    # NFSe and NFSe Nacional: authorized, rejected, cancelled (or not), replaced.
    "nfse": (["nfse"], [
        EventType.NOTE_AUTHORIZED, EventType.NOTE_REJECTED, EventType.NOTE_CANCELLED,
        EventType.NOTE_CANCELLATION_FAILED, EventType.NOTE_REPLACED, EventType.NOTE_RESENT,
    ]),
    "nfsen": (["nfsen"], [
        EventType.NOTE_AUTHORIZED, EventType.NOTE_REJECTED, EventType.NOTE_CANCELLED,
        EventType.NOTE_CANCELLATION_FAILED, EventType.NOTE_REPLACED, EventType.NOTE_RESENT,
    ]),
    # NFCe in offline contingency: started, made effective or rejected, original cancelled.
    "nfce_contingencia": (["nfce"], [
        EventType.CONTINGENCY_STARTED, EventType.CONTINGENCY_EFFECTIVE, EventType.NOTE_REJECTED,
        EventType.PREVIOUS_ATTEMPT_CANCELLED, EventType.NOTE_RESENT,
    ]),
    # Older documentation: NFCe authorized behind a timeout, then cancelled.
    "nfce_correcao_timeout": (["nfce"], [EventType.PREVIOUS_ATTEMPT_CANCELLED]),
    "inutilizacao": ([], [EventType.INUTILIZACAO_REGISTERED]),
}
FOCUS_HOOKS_PER_EVENT = 5  # Focus's limit per company and event

# Headers the gateway sets itself; Focus's authorization_header may not replace them.
_RESERVED_HEADERS = {
    "host", "content-type", "content-length", "transfer-encoding", "connection", "user-agent",
    "webhook-id", "webhook-timestamp", "webhook-signature",
}
_MODELO_DOC_TYPE = {"55": "nfe", "65": "nfce"}


def clock() -> datetime:
    """The one clock of the schedule; tests pass ``now=`` instead of sleeping."""
    return timezone.now()


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_public_id() -> str:
    """Short alphanumeric, Focus's hook id shape."""
    return _random(8)


def generate_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 24 random bytes."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


# --- endpoints ------------------------------------------------------------------------------


def url_refusal(url: str) -> str | None:
    """Why this URL may not be registered, or None. Same checks as every delivery."""
    try:
        transport.check_url(url)
    except transport.TransportError as exc:
        return str(exc)
    return None


def _check_url(url: str) -> None:
    reason = url_refusal(url)
    if reason:
        raise ApiError(f"URL refused: {reason}", code="invalid_url", fields={"url": [reason]})


def _check_authorization_header(name: str) -> None:
    if name and (name.lower() in _RESERVED_HEADERS or not all(
        c.isalnum() or c in "-_" for c in name
    )):
        raise ApiError(
            f"authorization_header {name!r} is not allowed.", code="validation_error",
            fields={"authorization_header": ["Must be a header name the gateway does not set."]},
        )


def authorization_refusal(value: str) -> str | None:
    """Why this ``authorization`` value cannot be our header, or None.

    Printable ASCII only: CR/LF would inject headers, NUL and other controls are refused by
    HTTP clients at every delivery (an endpoint that fails forever), and httpx cannot encode
    anything beyond ASCII. Checked once, when the value is written.
    """
    if any(not " " <= char <= "~" for char in value):
        return ("Must be printable ASCII: no line breaks, tabs, NUL or other control "
                "characters.")
    return None


def _check_authorization(value: str) -> None:
    reason = authorization_refusal(value)
    if reason:
        raise ApiError("authorization is not a valid header value.", code="validation_error",
                       fields={"authorization": [reason]})


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: Endpoint
    # The secret in clear: shown in this answer only.
    secret: str


ENDPOINT_WRITABLE_FIELDS = (
    "url", "description", "event_types", "doc_types", "empresa", "format", "authorization",
    "authorization_header",
)


def endpoint_create(
    *,
    tenant: Tenant,
    environment: str,
    url: str,
    event_types: list[str] | None = None,
    doc_types: list[str] | None = None,
    empresa: Empresa | None = None,
    format: str = EndpointFormat.EVENT,
    description: str = "",
    authorization: str = "",
    authorization_header: str = "",
    focus_event: str = "",
) -> CreatedEndpoint:
    _check_url(url)
    _check_authorization_header(authorization_header)
    _check_authorization(authorization)
    if empresa is not None and empresa.tenant_id != tenant.pk:
        raise ApiError("Unknown company.", code="validation_error",
                       fields={"empresa_id": ["Unknown company."]})
    secret = generate_secret()
    endpoint = Endpoint.objects.create(
        tenant=tenant, environment=environment, public_id=new_public_id(), url=url,
        event_types=sorted(set(event_types or [])), doc_types=sorted(set(doc_types or [])),
        empresa=empresa, format=format, description=description, secret=secret,
        authorization=authorization, authorization_header=authorization_header,
        focus_event=focus_event,
    )
    return CreatedEndpoint(endpoint=endpoint, secret=secret)


def endpoint_update(*, endpoint: Endpoint, data: dict[str, Any]) -> Endpoint:
    changed = [key for key in data if key in ENDPOINT_WRITABLE_FIELDS]
    if "url" in data:
        _check_url(data["url"])
    if "authorization_header" in data:
        _check_authorization_header(data["authorization_header"])
    if "authorization" in data:
        _check_authorization(data["authorization"] or "")
    empresa = data.get("empresa")
    if empresa is not None and empresa.tenant_id != endpoint.tenant_id:
        raise ApiError("Unknown company.", code="validation_error",
                       fields={"empresa_id": ["Unknown company."]})
    for key in changed:
        value = data[key]
        if key in {"event_types", "doc_types"}:
            value = sorted(set(value or []))
        setattr(endpoint, key, value)
    endpoint.save(update_fields=[*changed, "updated_at"])
    return endpoint


def endpoint_delete(*, endpoint: Endpoint, now: datetime | None = None) -> Endpoint:
    """Soft delete: the endpoint stops receiving; its history stays visible."""
    now = now or clock()
    with transaction.atomic():
        Endpoint.objects.filter(pk=endpoint.pk, deleted_at=None).update(
            deleted_at=now, is_active=False, updated_at=now
        )
        Delivery.objects.filter(endpoint=endpoint, state=DeliveryState.PENDING).update(
            state=DeliveryState.CANCELLED, next_attempt_at=None, updated_at=now
        )
    endpoint.refresh_from_db()
    return endpoint


def endpoint_rotate_secret(*, endpoint: Endpoint, now: datetime | None = None) -> str:
    """A new secret; the old one keeps signing (second signature) for the overlap."""
    now = now or clock()
    new_secret = generate_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + timedelta(
        hours=settings.FG_WEBHOOKS_ROTATION_OVERLAP_HOURS
    )
    endpoint.secret = new_secret
    endpoint.save(update_fields=[
        "secret", "previous_secret", "previous_secret_expires_at", "updated_at",
    ])
    return new_secret


def endpoint_disable(
    *, endpoint: Endpoint, reason: str, now: datetime | None = None, notify: bool = True,
    by: str = "",
) -> bool:
    """Switch an endpoint off; its pending deliveries wait for it. True if this call did it.

    ``notify``: record a ``webhook_endpoint.disabled`` event (feed + other endpoints).
    ``by``: the staff user who did it, kept on the endpoint's timeline (EndpointChange)."""
    now = now or clock()
    with transaction.atomic():
        changed = Endpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
            is_active=False, disabled_at=now, disabled_reason=reason[:300], updated_at=now
        )
        if not changed:
            return False
        EndpointChange.objects.create(endpoint=endpoint, kind=EndpointChange.Kind.DISABLED,
                                      by=by[:150], reason=reason[:300], created_at=now)
        # Paused: not due until re-enabled, so the dispatcher's scan does not wade through them.
        Delivery.objects.filter(endpoint=endpoint, state=DeliveryState.PENDING).update(
            next_attempt_at=None, updated_at=now
        )
        if notify:
            event_record(
                tenant=endpoint.tenant, type=EventType.ENDPOINT_DISABLED,
                environment=endpoint.environment, now=now,
                data={"endpoint_id": endpoint.pk, "public_id": endpoint.public_id,
                      "url": endpoint.url, "reason": reason[:300],
                      "disabled_at": now.isoformat()},
            )
    endpoint.refresh_from_db()
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)
    return True


def endpoint_enable(*, endpoint: Endpoint, now: datetime | None = None, by: str = "",
                    reason: str = "") -> Endpoint:
    """Switch an endpoint back on; everything pending for it is due now.

    ``by``: the staff user who did it, kept on the endpoint's timeline (EndpointChange)."""
    if endpoint.deleted_at is not None:
        raise Conflict("A deleted endpoint cannot be enabled.", code="endpoint_deleted")
    now = now or clock()
    with transaction.atomic():
        Endpoint.objects.filter(pk=endpoint.pk).update(
            is_active=True, disabled_at=None, disabled_reason="", failing_since=None,
            updated_at=now,
        )
        EndpointChange.objects.create(endpoint=endpoint, kind=EndpointChange.Kind.ENABLED,
                                      by=by[:150], reason=reason[:300], created_at=now)
        ids = list(Delivery.objects.filter(
            endpoint=endpoint, state=DeliveryState.PENDING
        ).values_list("pk", flat=True))
        Delivery.objects.filter(pk__in=ids).update(next_attempt_at=now, updated_at=now)
        _kick_on_commit(ids)
    endpoint.refresh_from_db()
    return endpoint


def endpoint_send_test(*, endpoint: Endpoint, now: datetime | None = None) -> Delivery:
    """A ``webhook.test`` event to this endpoint only; it stays out of the event feed."""
    now = now or clock()
    with transaction.atomic():
        event = Event.objects.create(
            tenant_id=endpoint.tenant_id, sequence=None, type=EventType.TEST,
            environment=endpoint.environment, created_at=now,
            data={"message": "Test event from Fiscal Gateway.", "endpoint_id": endpoint.pk},
        )
        delivery = _deliveries_create(event, [endpoint], now=now)[0]
        _kick_on_commit([delivery.pk])
    return delivery


# --- events --------------------------------------------------------------------------------


def _next_sequence(tenant_id: int) -> int:
    """The tenant's next event sequence. Must run inside the caller's transaction.

    ``UPDATE ... SET last_sequence = last_sequence + 1`` locks the counter row until commit, so
    a second transaction of the same tenant waits, then reads the committed value: sequences
    commit in increasing order, and a feed reader at ``after=N`` can never skip one that a
    slower transaction commits later.
    """
    counters = TenantEventCounter.objects.filter(tenant_id=tenant_id)
    if not counters.update(last_sequence=F("last_sequence") + 1):
        TenantEventCounter.objects.bulk_create(
            [TenantEventCounter(tenant_id=tenant_id, last_sequence=0)], ignore_conflicts=True
        )
        counters.update(last_sequence=F("last_sequence") + 1)
    return counters.values_list("last_sequence", flat=True).get()


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


def _deliveries_create(event: Event, endpoints: Iterable[Endpoint], *, now: datetime
                       ) -> list[Delivery]:
    deliveries = [
        Delivery(
            tenant_id=event.tenant_id, event=event, endpoint=endpoint,
            webhook_id=f"msg_{_random(24)}", state=DeliveryState.PENDING,
            # A disabled endpoint keeps what it is owed, not due until it is re-enabled.
            next_attempt_at=now if endpoint.is_active else None,
        )
        for endpoint in endpoints
    ]
    # Postgres returns the ids; SQLite (3.35+) too, through RETURNING.
    return Delivery.objects.bulk_create(deliveries)


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
    with transaction.atomic():
        event = Event.objects.create(
            tenant=tenant, sequence=_next_sequence(tenant.pk), type=type,
            environment=environment, doc_type=doc_type, note=note, empresa=empresa,
            data=data, created_at=now,
        )
        endpoints = [
            endpoint for endpoint in Endpoint.objects.filter(tenant=tenant, deleted_at=None)
            if endpoint_matches(endpoint, event)
        ]
        deliveries = _deliveries_create(event, endpoints, now=now)
        if note is not None:
            NoteEvent.objects.create(
                note=note, kind=NoteEvent.Kind.WEBHOOK_EMITTED,
                message=f"{type} (event #{event.sequence}) to {len(deliveries)} endpoint(s)",
                data={"event_id": event.pk, "type": type, "sequence": event.sequence,
                      "deliveries": [d.webhook_id for d in deliveries]},
            )
        _kick_on_commit([d.pk for d in deliveries if d.next_attempt_at is not None])
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


# --- replay --------------------------------------------------------------------------------


def _replay(queryset: Any, *, now: datetime) -> int:
    """Start a new schedule for these deliveries, keeping their webhook-id."""
    with transaction.atomic():
        ids = list(
            queryset.filter(state__in=[
                DeliveryState.SUCCEEDED, DeliveryState.FAILED, DeliveryState.PENDING,
            ]).values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=ids, state__in=[
            DeliveryState.SUCCEEDED, DeliveryState.FAILED, DeliveryState.PENDING,
        ]).update(
            state=DeliveryState.PENDING, attempts=0, updated_at=now,
            # A disabled endpoint's deliveries stay paused until it is re-enabled.
            next_attempt_at=None,
        )
        Delivery.objects.filter(pk__in=ids, endpoint__is_active=True).update(next_attempt_at=now)
        _kick_on_commit(ids)
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


# --- dispatch ------------------------------------------------------------------------------

Enqueue = Callable[[int, str], None]


def _celery_enqueue(delivery_id: int, claim_token: str) -> None:
    from webhooks.tasks import deliver

    deliver.apply_async(args=[delivery_id, claim_token], queue="webhooks")


def _claim(candidates: list[tuple[int, int]], *, now: datetime, enqueue: Enqueue | None) -> int:
    """Claim and enqueue (delivery id, endpoint id) pairs, at most the cap per endpoint."""
    if not candidates:
        return 0
    enqueue = enqueue or _celery_enqueue
    cap = settings.FG_WEBHOOKS_MAX_IN_FLIGHT
    in_flight: dict[int, int] = dict(
        Delivery.objects.filter(
            state=DeliveryState.SENDING, endpoint_id__in={e for _, e in candidates}
        ).values("endpoint_id").annotate(n=Count("id")).values_list("endpoint_id", "n")
    )
    claimed = 0
    for delivery_id, endpoint_id in candidates:
        if in_flight.get(endpoint_id, 0) >= cap:
            continue
        token = secrets.token_hex(8)
        won = Delivery.objects.filter(
            pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now
        ).update(state=DeliveryState.SENDING, claim_token=token, claimed_at=now)
        if won != 1:
            continue  # someone else claimed it, or it was replayed / paused meanwhile
        in_flight[endpoint_id] = in_flight.get(endpoint_id, 0) + 1
        claimed += 1
        try:
            enqueue(delivery_id, token)
        except Exception:
            # The broker is down: give the row back, the next dispatcher run tries again.
            logger.exception("could not enqueue webhook delivery %s", delivery_id)
            Delivery.objects.filter(pk=delivery_id, claim_token=token,
                                    state=DeliveryState.SENDING).update(
                state=DeliveryState.PENDING, claim_token="", claimed_at=None,
            )
    return claimed


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


def _kick_on_commit(delivery_ids: list[int]) -> None:
    if delivery_ids:
        transaction.on_commit(lambda: _kick(delivery_ids))


def endpoint_drain(*, endpoint_id: int, now: datetime | None = None,
                   enqueue: Enqueue | None = None) -> int:
    """After a success, hand the freed slot to the endpoint's next due delivery at once.

    Without it a backlog (a re-enabled endpoint, a burst) would drain at the cap per
    dispatcher tick; with it a healthy endpoint drains as fast as it answers, still never more
    than the cap at once. Failing endpoints get no hand-off: their retries keep the schedule.
    """
    now = now or clock()
    due = (
        Delivery.objects.filter(
            endpoint_id=endpoint_id, state=DeliveryState.PENDING, next_attempt_at__lte=now,
            endpoint__is_active=True,
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", "endpoint_id")[: settings.FG_WEBHOOKS_MAX_IN_FLIGHT]
    )
    return _claim(list(due), now=now, enqueue=enqueue)


def dispatch_due(*, now: datetime | None = None, limit: int | None = None,
                 enqueue: Enqueue | None = None) -> int:
    """Claim due deliveries (fairly across endpoints) and enqueue them. Returns how many."""
    now = now or clock()
    limit = limit or settings.FG_WEBHOOKS_DISPATCH_BATCH
    # Claims whose worker died or whose message was lost come back after the claim timeout;
    # a late task then finds a new claim token and does nothing.
    stale = now - timedelta(seconds=settings.FG_WEBHOOKS_CLAIM_TIMEOUT)
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


# --- one attempt ---------------------------------------------------------------------------


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


def _release(delivery: Delivery, token: str, **changes: Any) -> bool:
    return Delivery.objects.filter(
        pk=delivery.pk, state=DeliveryState.SENDING, claim_token=token
    ).update(claim_token="", claimed_at=None, **changes) == 1


def delivery_attempt(*, delivery_id: int, claim_token: str,
                     now: datetime | None = None) -> Outcome:
    """Send one claimed delivery once and move it on. Running it twice does nothing more."""
    now = now or clock()
    delivery = (
        Delivery.objects.select_related("event", "endpoint")
        .filter(pk=delivery_id, state=DeliveryState.SENDING, claim_token=claim_token)
        .first()
    )
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
    attempt = Attempt.objects.create(
        delivery=delivery, started_at=now, duration_ms=duration_ms, status_code=status_code,
        response_body=response_body, error=error, address=address, succeeded=ok,
    )
    common = {"last_status_code": status_code, "last_error": error, "updated_at": now}

    if ok:
        _release(delivery, claim_token, state=DeliveryState.SUCCEEDED, delivered_at=now,
                 next_attempt_at=None, **common)
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
            failing_since=None
        )
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


def _note_failure(endpoint: Endpoint, *, now: datetime, error: str) -> None:
    """Track the endpoint's failing streak; disable it once the streak is days long."""
    Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    since = Endpoint.objects.filter(pk=endpoint.pk).values_list("failing_since", flat=True).get()
    limit = timedelta(hours=settings.FG_WEBHOOKS_DISABLE_AFTER_HOURS)
    if since is not None and now - since >= limit:
        endpoint_disable(
            endpoint=endpoint, now=now,
            reason=(f"Failing without a success since {since.isoformat()} "
                    f"(last error: {error[:120]})."),
        )


def deliveries_due_count(*, now: datetime | None = None) -> int:
    """For health checks and the benchmark: how many deliveries are due and not claimed."""
    now = now or clock()
    return Delivery.objects.filter(
        Q(state=DeliveryState.PENDING) & Q(next_attempt_at__lte=now)
    ).count()
