"""Tenant webhooks: endpoints, events, deliveries and attempts (DESIGN.md §4, webhooks).

Postgres is the schedule (DESIGN.md §2): every delivery still owed is a ``Delivery`` row with a
``next_attempt_at``; the dispatcher claims due rows with conditional updates and Celery only
carries "send this one now".
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.crypto import EncryptedTextField
from core.models import TimestampedModel
from fiscal.models import Note
from tenants.models import Empresa, Environment, Tenant


class EventType(models.TextChoices):
    """What a tenant can subscribe to: fiscal.changes.ChangeType plus the gateway's own."""

    NOTE_AUTHORIZED = "note.authorized"
    NOTE_REJECTED = "note.rejected"
    NOTE_DENIED = "note.denied"
    NOTE_CANCELLED = "note.cancelled"
    NOTE_CANCELLATION_FAILED = "note.cancellation_failed"
    NOTE_REPLACED = "note.replaced"
    CORRECTION_REGISTERED = "note.correction_registered"
    OPERATION_REGISTERED = "note.operation_registered"
    OPERATION_FAILED = "note.operation_failed"
    CONTINGENCY_STARTED = "note.contingency_started"
    CONTINGENCY_EFFECTIVE = "note.contingency_effective"
    PREVIOUS_ATTEMPT_CANCELLED = "note.previous_attempt_cancelled"
    INUTILIZACAO_REGISTERED = "inutilizacao.registered"
    NOTE_STUCK = "note.stuck"
    # POST /v2/<doc>/<ref>/hook: the note's current consulta, sent again on request.
    NOTE_RESENT = "note.resent"
    # An endpoint was switched off by the gateway (kept failing, or answered 410).
    ENDPOINT_DISABLED = "webhook_endpoint.disabled"
    # A company's certificate expires in 30, 15, 7 or 1 day(s) (webhooks.certificates).
    CERTIFICATE_EXPIRING = "empresa.certificate_expiring"
    # ... or has expired: the gateway now refuses its emissions (Focus's certificado_vencido).
    CERTIFICATE_EXPIRED = "empresa.certificate_expired"
    # POST /api/v1/webhook-endpoints/<id>/test; never in the event feed.
    TEST = "webhook.test"


class EndpointFormat(models.TextChoices):
    # {"id", "type", "sequence", "created_at", ..., "data"}
    EVENT = "event", "event envelope"
    # The note's consulta JSON exactly as Focus's own hook posts it.
    FOCUS = "focus", "Focus hook body"


class Endpoint(TimestampedModel):
    """A tenant's webhook URL. Filters: event types, document types, one company."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_endpoints")
    # The environment of the key that created it: a test key's endpoint never hears of live notes.
    environment = models.CharField(max_length=12, choices=Environment.choices)
    # Short alphanumeric id, Focus's hook id shape (/v2/hooks/<public_id>).
    public_id = models.CharField(max_length=16, unique=True)
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # Empty list: every event type.
    event_types = models.JSONField(default=list, blank=True)
    # Empty list: every document type. Focus hooks are per document ("nfe", "nfse", ...).
    doc_types = models.JSONField(default=list, blank=True)
    empresa = models.ForeignKey(
        Empresa, null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    format = models.CharField(
        max_length=8, choices=EndpointFormat.choices, default=EndpointFormat.EVENT
    )
    # Standard Webhooks secret ("whsec_" + base64), encrypted at rest.
    secret = EncryptedTextField()
    # During a rotation the previous secret keeps signing until it expires.
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Focus's static header (hooks created through /v2/hooks, or set natively).
    authorization = EncryptedTextField(blank=True, default="")
    authorization_header = models.CharField(max_length=100, blank=True)
    # Set when created through /v2/hooks: the Focus event name it was created with.
    focus_event = models.CharField(max_length=40, blank=True)

    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Start of the current run of failed attempts; cleared by any success.
    failing_since = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["tenant", "is_active"], name="whendpoint_tenant_idx")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.url}"


class TenantEventCounter(models.Model):
    """The last event sequence given to a tenant. Updated with F()+1: the row lock orders
    concurrent writers, so sequences are gap-free per committed transaction order."""

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_sequence = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"tenant {self.tenant_id}: {self.last_sequence}"


class Event(models.Model):
    """Something a tenant may be told about; immutable once written."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_events")
    # Per-tenant, increasing; null only for test events, which stay out of the feed.
    sequence = models.BigIntegerField(null=True, blank=True)
    type = models.CharField(max_length=40, choices=EventType.choices)
    environment = models.CharField(max_length=12, choices=Environment.choices, blank=True)
    doc_type = models.CharField(max_length=5, blank=True)
    note = models.ForeignKey(
        Note, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )
    empresa = models.ForeignKey(
        Empresa, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The snapshot: for notes, the facade consulta JSON (what Focus's hook would post).
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "sequence"], name="whevent_unique_seq"),
        ]
        indexes = [models.Index(fields=["note"], name="whevent_note_idx")]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence}"

    @property
    def public_id(self) -> str:
        return f"evt_{self.pk}"


class DeliveryState(models.TextChoices):
    # Waiting for next_attempt_at (or for its endpoint to be re-enabled).
    PENDING = "pending"
    # Claimed by the dispatcher; a task is sending it. Stale claims are taken back.
    SENDING = "sending"
    # The receiver answered 2xx.
    SUCCEEDED = "succeeded"
    # The retry schedule ran out; replay puts it back to pending.
    FAILED = "failed"
    # Its endpoint was deleted before it went out.
    CANCELLED = "cancelled"


# Allowed transitions (STYLE habit 5). Every state change of a delivery is checked against
# this table (check_delivery_transition) and made with a conditional update.
DELIVERY_TRANSITIONS: dict[str, frozenset[str]] = {
    DeliveryState.PENDING: frozenset({DeliveryState.SENDING, DeliveryState.CANCELLED}),
    DeliveryState.SENDING: frozenset({
        DeliveryState.PENDING, DeliveryState.SUCCEEDED, DeliveryState.FAILED,
    }),
    DeliveryState.SUCCEEDED: frozenset({DeliveryState.PENDING}),  # replay
    DeliveryState.FAILED: frozenset({DeliveryState.PENDING}),  # replay
    DeliveryState.CANCELLED: frozenset(),
}


def check_delivery_transition(source: str, target: str) -> None:
    """Refuse a move the table does not allow: a bug in the caller, never bad input.

    Staying in a state (a pending delivery paused or made due again) is not a transition.
    """
    if source != target and target not in DELIVERY_TRANSITIONS[source]:
        raise ValueError(f"a {source} delivery cannot become {target}")


class Delivery(TimestampedModel):
    """One event to one endpoint, until acknowledged. ``webhook_id`` never changes."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    # The Standard Webhooks message id: the same on every retry and replay, so receivers
    # can deduplicate.
    webhook_id = models.CharField(max_length=40, unique=True)
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    # Failed attempts in the current schedule (replay starts a new schedule).
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="whdelivery_unique"),
        ]
        indexes = [
            # The dispatcher's scan: only pending rows, by due time.
            models.Index(fields=["next_attempt_at"], name="whdelivery_due_idx",
                         condition=Q(state="pending")),
            # In-flight count per endpoint (the concurrency cap) and stale-claim recovery.
            models.Index(fields=["endpoint", "claimed_at"], name="whdelivery_sending_idx",
                         condition=Q(state="sending")),
            models.Index(fields=["endpoint", "state", "id"], name="whdelivery_endpoint_idx"),
            models.Index(fields=["tenant", "id"], name="whdelivery_tenant_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.webhook_id} ({self.state})"


class Attempt(models.Model):
    """One HTTP try of a delivery: what the receiver said, or why nothing was sent."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_set")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # The first bytes of the receiver's answer.
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    # The address actually connected to (after the SSRF check).
    address = models.CharField(max_length=45, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["delivery", "id"], name="whattempt_delivery_idx")]

    def __str__(self) -> str:
        return f"{self.status_code or self.error[:40]} @ {self.started_at:%Y-%m-%d %H:%M:%S}"


class EndpointChange(models.Model):
    """The endpoint's timeline: who switched it off or on, and why. Append-only.

    ``by`` names the staff user (or is empty when the gateway or the tenant did it); the row
    is what an operator reads in an incident, as a note's NoteEvents are."""

    class Kind(models.TextChoices):
        DISABLED = "disabled"
        ENABLED = "enabled"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    by = models.CharField(max_length=150, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["endpoint", "id"], name="whendpointchange_idx")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.by or 'gateway'} @ {self.created_at:%Y-%m-%d %H:%M:%S}"


class CertificateNotice(models.Model):
    """One certificate warning published: at most one per company, validity date and threshold.

    The unique constraint is what makes the periodic task idempotent: a second run (or two
    workers at once) finds the row and publishes nothing. A renewed certificate has another
    ``valido_ate``, so its warnings start over.
    """

    empresa = models.ForeignKey(Empresa, on_delete=models.CASCADE,
                                related_name="certificate_notices")
    valido_ate = models.DateTimeField()
    # Days before expiry the warning is for (30, 15, 7, 1); 0 is "expired".
    threshold_days = models.PositiveSmallIntegerField()
    event = models.ForeignKey(Event, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["empresa", "valido_ate", "threshold_days"],
                                    name="certificate_notice_once"),
        ]

    def __str__(self) -> str:
        return (f"empresa {self.empresa_id}: {self.threshold_days}d before "
                f"{self.valido_ate:%Y-%m-%d}")
