from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from rest_framework import serializers

from core.crypto import mask_secret
from core.serializers import MaskedSecretField, StrictSerializer
from tenants.models import DocType, Environment
from webhooks.delivery import envelope
from webhooks.models import (
    Attempt,
    Delivery,
    DeliveryState,
    Endpoint,
    EndpointFormat,
    Event,
    EventType,
)
from webhooks.selectors import HookHealth

_BRASILIA = ZoneInfo("America/Sao_Paulo")

# Test events go only to the endpoint they test: nobody subscribes to them.
SUBSCRIBABLE = [choice for choice in EventType.choices if choice[0] != EventType.TEST]


class EndpointInputSerializer(StrictSerializer):
    url = serializers.URLField(max_length=2000)
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)
    # Empty or omitted: every event type / document type.
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE), required=False
    )
    doc_types = serializers.ListField(
        child=serializers.ChoiceField(choices=DocType.choices), required=False
    )
    empresa_id = serializers.IntegerField(required=False, allow_null=True)
    format = serializers.ChoiceField(choices=EndpointFormat.choices, required=False)
    # Focus's static header, for receivers written for Focus's hooks.
    authorization = serializers.CharField(
        required=False, allow_blank=True, write_only=True, max_length=500
    )
    authorization_header = serializers.CharField(required=False, allow_blank=True,
                                                 max_length=100)


class EndpointOutputSerializer(serializers.ModelSerializer):
    secret = MaskedSecretField()
    authorization = MaskedSecretField()

    class Meta:
        model = Endpoint
        fields = [
            "id", "public_id", "url", "description", "environment", "event_types", "doc_types",
            "empresa_id", "format", "secret", "authorization", "authorization_header",
            "focus_event", "is_active", "disabled_at", "disabled_reason", "failing_since",
            "previous_secret_expires_at", "created_at", "updated_at",
        ]


class EndpointWithSecretSerializer(EndpointOutputSerializer):
    """Creation and rotation answers: the only place the secret is shown in clear."""

    secret = serializers.SerializerMethodField()

    def get_secret(self, obj: Endpoint) -> str:
        return self.context["secret"]


class ReplaySinceInputSerializer(StrictSerializer):
    since = serializers.DateTimeField()


class NoteReplayInputSerializer(StrictSerializer):
    note_id = serializers.IntegerField()


class ReplayCountSerializer(serializers.Serializer):
    replayed = serializers.IntegerField()


class EventEnvelopeSerializer(serializers.Serializer):
    """Describes ``webhooks.delivery.envelope``: the ``event`` format webhook body."""

    id = serializers.CharField(help_text="evt_<n>: the event's public id.")
    type = serializers.ChoiceField(choices=EventType.choices)
    sequence = serializers.IntegerField(allow_null=True,
                                        help_text="Per-tenant order; null for test events.")
    created_at = serializers.DateTimeField()
    environment = serializers.ChoiceField(choices=Environment.choices, allow_null=True)
    doc_type = serializers.ChoiceField(choices=DocType.choices, allow_null=True)
    note_id = serializers.IntegerField(allow_null=True)
    data = serializers.DictField(help_text="What happened; its shape depends on the type.")


class EventOutputSerializer(EventEnvelopeSerializer):
    event_id = serializers.IntegerField(help_text="The event's id in this API.")

    def to_representation(self, instance: Event) -> dict[str, Any]:
        return {"event_id": instance.pk, **envelope(instance)}


class EventFeedSerializer(serializers.Serializer):
    results = EventOutputSerializer(many=True)
    next_after = serializers.IntegerField()
    has_more = serializers.BooleanField()
    next = serializers.CharField(allow_null=True)


class DeliveryOutputSerializer(serializers.ModelSerializer):
    event_type = serializers.CharField(source="event.type", read_only=True)
    event_sequence = serializers.IntegerField(source="event.sequence", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id", "webhook_id", "event_id", "event_type", "event_sequence", "endpoint_id",
            "state", "attempts", "next_attempt_at", "last_status_code", "last_error",
            "delivered_at", "created_at", "updated_at",
        ]


class DeliveryListQuerySerializer(serializers.Serializer):
    # Not strict: the query string also carries cursor, limit and possibly ?token=.
    endpoint = serializers.IntegerField(required=False)
    state = serializers.ChoiceField(choices=DeliveryState.choices, required=False)
    event = serializers.IntegerField(required=False)
    note = serializers.IntegerField(required=False)


class EventFeedQuerySerializer(serializers.Serializer):
    # A sequence is a bigint: past it is no position in the feed, only a query Postgres refuses.
    after = serializers.IntegerField(required=False, min_value=0, max_value=2**63 - 1, default=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    type = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices),
                                 required=False)


class AttemptOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = [
            "id", "started_at", "duration_ms", "status_code", "response_body", "error",
            "address", "succeeded",
        ]


# --- Focus-style hooks (/v2/hooks) -------------------------------------------------------------


class HookInputSerializer(StrictSerializer):
    """Focus's hook fields. Validation messages are Focus's (see webhooks/facade.py)."""

    event = serializers.CharField(max_length=40)
    url = serializers.CharField(max_length=2000)
    cnpj = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                 max_length=18)
    cpf = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                max_length=14)
    authorization = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                          max_length=500)
    authorization_header = serializers.CharField(required=False, allow_blank=True,
                                                 allow_null=True, max_length=100)


def hook_representation(endpoint: Endpoint, health: HookHealth | None = None, *,
                        reveal_authorization: bool = False) -> dict[str, Any]:
    """A hook as Focus shows it. ``authorization`` is answered as sent in the answer to its
    creation, as Focus does (the tenant has just sent it), and masked afterwards: it is a
    secret we keep.

    With ``health`` (the single-hook GET), the metrics window follows ``event`` as in Focus's
    example; ``count_since`` in Brasília time with its offset and whole seconds, as Focus writes
    it ("2025-10-06T05:38:45-03:00").
    """
    data: dict[str, Any] = {
        "id": endpoint.public_id,
        "url": endpoint.url,
        "authorization": (endpoint.authorization if reveal_authorization
                          else mask_secret(endpoint.authorization)) or None,
        "authorization_header": endpoint.authorization_header or None,
        "event": endpoint.focus_event or None,
    }
    if health is not None:
        data["count_since"] = timezone.localtime(health.count_since, _BRASILIA).isoformat(
            timespec="seconds"
        )
        data["request_count"] = health.request_count
        data["error_count"] = health.error_count
        data["success_count"] = health.success_count
    empresa = endpoint.empresa
    if empresa is not None and empresa.cpf:
        data["cpf"] = empresa.cpf
    else:
        data["cnpj"] = empresa.cnpj if empresa is not None else None
    return data
