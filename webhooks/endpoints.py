"""Tenant webhook endpoints: register, change, rotate, switch off and on, delete, test.

The URL is checked with the same rules as every delivery (webhooks/transport.py) when it is
written; the secret is shown once, at creation.
"""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.crypto import get_random_string

from core.claims import claim
from core.errors import ApiError, Conflict
from tenants.models import Empresa, Tenant
from webhooks import transport
from webhooks.dispatch import clock, kick_on_commit
from webhooks.events import deliveries_create, event_record
from webhooks.models import (
    Delivery,
    DeliveryState,
    Endpoint,
    EndpointChange,
    EndpointFormat,
    Event,
    EventType,
    check_delivery_transition,
)

logger = logging.getLogger("webhooks")

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


def new_public_id() -> str:
    """Short alphanumeric, Focus's hook id shape."""
    return get_random_string(8)


def generate_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def url_refusal(url: str) -> str | None:
    """Why this URL may not be registered, or None.

    The scheme, the spelling and literal addresses (loopback, private, link-local, metadata,
    ...) are refused here; a name is not resolved: whether it resolves now says nothing about
    the moment of a delivery (Focus's own example, ``http://minha.url/nfe``, does not resolve),
    and every delivery resolves it and checks every address it gets (webhooks/transport.py).
    """
    try:
        transport.check_url(url, resolve_names=False)
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
        claim(Endpoint, endpoint.pk, where={"deleted_at": None}, deleted_at=now,
              is_active=False, updated_at=now)
        check_delivery_transition(DeliveryState.PENDING, DeliveryState.CANCELLED)
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
        if not claim(Endpoint, endpoint.pk, where={"is_active": True}, is_active=False,
                     disabled_at=now, disabled_reason=reason[:300], updated_at=now):
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
        kick_on_commit(ids)
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
        delivery = deliveries_create(event, [endpoint], now=now)[0]
        kick_on_commit([delivery.pk])
    return delivery
