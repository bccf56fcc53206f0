"""The outgoing webhooks in the OpenAPI document (its ``webhooks`` section): one per event type.

The bodies described are what ``webhooks.delivery.render_body`` sends: the event envelope
(``webhooks.delivery.envelope``) whose ``data`` depends on the type. Each type's ``data`` is
built where the change is published: the note's consulta JSON (``fiscal.render.note_consulta``)
for note changes, extended for operations; the Focus inutilização body; the endpoint for
``webhook_endpoint.disabled``; the company for the certificate notices; a message for
``webhook.test``.
"""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiResponse,
    OpenApiWebhook,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers

from fiscal.models import NoteStatus
from webhooks.models import EventType
from webhooks.serializers import EventEnvelopeSerializer


class NoteConsultaSerializer(serializers.Serializer):
    """The note's consulta JSON, as GET /v2/<doc>/<ref> answers it and a Focus hook posts it.
    Focus's other fields (chave_nfe, numero, caminho_*, ...) come along as Focus sent them."""

    ref = serializers.CharField()
    status = serializers.ChoiceField(choices=NoteStatus.choices)
    status_sefaz = serializers.CharField(required=False)
    mensagem_sefaz = serializers.CharField(required=False)
    erros = serializers.JSONField(required=False)


class NoteOperationDataSerializer(NoteConsultaSerializer):
    """The consulta plus the operation (carta_correcao, ator_interessado, ...); for a failed
    operation also Focus's answer to it."""

    operacao = serializers.CharField()


class NoteCancelledDataSerializer(NoteConsultaSerializer):
    operacao = serializers.CharField(required=False,
                                     help_text="`cancelamento` when our own cancel settled it.")


class NoteOperationFailedDataSerializer(NoteOperationDataSerializer):
    # Focus's answer is merged over the consulta: its status is the operation's, not the note's.
    status = serializers.CharField()


class NoteCancellationFailedDataSerializer(NoteConsultaSerializer):
    cancelamento = serializers.DictField(help_text="Focus's answer to the cancellation.")


class InutilizacaoDataSerializer(serializers.Serializer):
    """Focus's inutilização body, with the gateway's file paths."""

    status = serializers.CharField(required=False)


class EndpointDisabledDataSerializer(serializers.Serializer):
    endpoint_id = serializers.IntegerField()
    public_id = serializers.CharField()
    url = serializers.CharField()
    reason = serializers.CharField()
    disabled_at = serializers.DateTimeField()


class CertificateDataSerializer(serializers.Serializer):
    """webhooks.certificates: the company whose A1 certificate expires (or has expired)."""

    empresa_id = serializers.IntegerField()
    cnpj = serializers.CharField(allow_blank=True)
    cpf = serializers.CharField(allow_blank=True)
    nome = serializers.CharField(allow_blank=True)
    certificado_valido_ate = serializers.DateTimeField()
    days_left = serializers.IntegerField(help_text="The threshold reached: 30, 15, 7, 1; 0 "
                                                   "once expired.")


class TestDataSerializer(serializers.Serializer):
    message = serializers.CharField()
    endpoint_id = serializers.IntegerField()


_NOTE = NoteConsultaSerializer
_OPERATION = NoteOperationDataSerializer
DATA_BY_TYPE: dict[str, type[serializers.Serializer]] = {
    EventType.NOTE_AUTHORIZED: _NOTE,
    EventType.NOTE_REJECTED: _NOTE,
    EventType.NOTE_DENIED: _NOTE,
    EventType.NOTE_CANCELLED: NoteCancelledDataSerializer,
    EventType.NOTE_CANCELLATION_FAILED: NoteCancellationFailedDataSerializer,
    EventType.NOTE_REPLACED: _NOTE,
    EventType.CORRECTION_REGISTERED: _OPERATION,
    EventType.OPERATION_REGISTERED: _OPERATION,
    EventType.OPERATION_FAILED: NoteOperationFailedDataSerializer,
    EventType.CONTINGENCY_STARTED: _NOTE,
    EventType.CONTINGENCY_EFFECTIVE: _NOTE,
    EventType.PREVIOUS_ATTEMPT_CANCELLED: _NOTE,
    EventType.INUTILIZACAO_REGISTERED: InutilizacaoDataSerializer,
    EventType.NOTE_STUCK: _NOTE,
    EventType.NOTE_RESENT: _NOTE,
    EventType.ENDPOINT_DISABLED: EndpointDisabledDataSerializer,
    EventType.CERTIFICATE_EXPIRING: CertificateDataSerializer,
    EventType.CERTIFICATE_EXPIRED: CertificateDataSerializer,
    EventType.TEST: TestDataSerializer,
}

DESCRIPTION = (
    "POSTed as JSON to every endpoint subscribed to this type, signed with the Standard "
    "Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`). Endpoints in "
    "the `focus` format receive only `data`, exactly as a Focus hook posts it."
)


def _camel(event_type: str) -> str:
    return "".join(part.capitalize() for part in event_type.replace(".", "_").split("_"))


def _type_field(event_type: str) -> serializers.Field:
    @extend_schema_field({"type": "string", "enum": [event_type]})
    class TypeField(serializers.CharField):
        pass

    return TypeField()


def _event_serializer(event_type: str) -> type[serializers.Serializer]:
    """The envelope with ``type`` fixed to this one and ``data`` of this type's shape."""
    return type(f"{_camel(event_type)}EventSerializer", (EventEnvelopeSerializer,), {
        "__module__": __name__,
        "__doc__": f"The `{event_type}` webhook body.",
        "type": _type_field(event_type),
        "data": DATA_BY_TYPE[event_type](),
    })


EVENT_SERIALIZERS = {value: _event_serializer(value) for value in EventType.values}

WEBHOOKS = [
    OpenApiWebhook(name=event_type, decorator=extend_schema(
        summary=label, description=DESCRIPTION, request=EVENT_SERIALIZERS[event_type],
        responses={200: OpenApiResponse(
            description="Any 2xx acknowledges; 410 disables the endpoint; anything else "
                        "is retried on the schedule.")},
    ))
    for event_type, label in EventType.choices
]
