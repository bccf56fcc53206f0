from __future__ import annotations

from rest_framework import serializers

from core.documents import is_valid_cnpj, normalize
from fiscal.inutilizacoes import inutilizacao_file_path
from fiscal.models import (
    FiscalEvent,
    Inutilizacao,
    InutilizacaoStatus,
    Note,
    NoteEvent,
    NoteStatus,
)
from tenants.models import DocType, Environment


class NoteFilterSerializer(serializers.Serializer):
    doc_type = serializers.ChoiceField(choices=DocType.choices, required=False)
    status = serializers.ChoiceField(choices=NoteStatus.choices, required=False)
    empresa = serializers.IntegerField(required=False, source="empresa_id")
    environment = serializers.ChoiceField(choices=Environment.choices, required=False,
                                          source="environment_filter")
    ref = serializers.CharField(required=False, max_length=100)
    chave = serializers.CharField(required=False, max_length=50)
    # The emitting company's CNPJ, numeric or alphanumeric, with or without punctuation.
    cnpj = serializers.CharField(required=False, max_length=18)
    created_from = serializers.DateTimeField(required=False)
    created_to = serializers.DateTimeField(required=False)
    stuck = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate_cnpj(self, value: str) -> str:
        cnpj = normalize(value)
        if not is_valid_cnpj(cnpj):
            raise serializers.ValidationError("Invalid CNPJ (format or check digits).")
        return cnpj

    def validate_chave(self, value: str) -> str:
        # Focus writes "NFe" + the 44 characters (alphanumeric with an alphanumeric CNPJ).
        return value.strip().removeprefix("NFe").upper()


class NoteListSerializer(serializers.ModelSerializer):
    empresa_cnpj = serializers.CharField(source="empresa.documento", read_only=True)

    class Meta:
        model = Note
        fields = [
            "id", "doc_type", "environment", "ref", "status", "status_sefaz", "mensagem_sefaz",
            "chave", "numero", "serie", "empresa", "empresa_cnpj", "created_at", "updated_at",
            "settled_at", "stuck_at", "next_action", "next_action_at",
        ]


class NoteEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = NoteEvent
        fields = ["id", "kind", "message", "data", "created_at"]


class NoteDetailSerializer(NoteListSerializer):
    timeline = serializers.SerializerMethodField()

    class Meta(NoteListSerializer.Meta):
        fields = [
            *NoteListSerializer.Meta.fields, "protocolo", "codigo_verificacao", "erros",
            "contingencia_offline", "contingencia_offline_efetivada", "tentativa_anterior",
            "tentativas_anteriores", "submit_attempts", "sync_attempts", "last_error",
            "authorized_at", "payload", "timeline",
        ]

    def get_timeline(self, obj: Note) -> list[dict]:
        return NoteEventSerializer(self.context["timeline"], many=True).data


class FiscalEventFilterSerializer(serializers.Serializer):
    note = serializers.IntegerField(required=False, source="note_id")
    empresa = serializers.IntegerField(required=False, source="empresa_id")
    kind = serializers.ChoiceField(choices=FiscalEvent.Kind.choices, required=False)
    status = serializers.ChoiceField(choices=FiscalEvent.Status.choices, required=False)


class FiscalEventSerializer(serializers.ModelSerializer):
    note_ref = serializers.CharField(source="note.ref", read_only=True)
    doc_type = serializers.CharField(source="note.doc_type", read_only=True)

    class Meta:
        model = FiscalEvent
        fields = [
            "id", "note", "note_ref", "doc_type", "kind", "sequence", "status", "status_sefaz",
            "mensagem_sefaz", "erros", "payload", "attempts", "next_action", "created_at",
            "updated_at",
        ]


class InutilizacaoFilterSerializer(serializers.Serializer):
    empresa = serializers.IntegerField(required=False, source="empresa_id")
    status = serializers.ChoiceField(choices=InutilizacaoStatus.choices, required=False)
    source = serializers.ChoiceField(choices=Inutilizacao.Source.choices, required=False)
    modelo = serializers.ChoiceField(choices=[("55", "NFe"), ("65", "NFCe")], required=False)
    environment = serializers.ChoiceField(choices=Environment.choices, required=False,
                                          source="environment_filter")
    created_from = serializers.DateTimeField(required=False)
    created_to = serializers.DateTimeField(required=False)


class InutilizacaoSerializer(serializers.ModelSerializer):
    empresa_cnpj = serializers.CharField(source="empresa.documento", read_only=True)
    caminho_xml = serializers.SerializerMethodField()

    class Meta:
        model = Inutilizacao
        fields = [
            "id", "empresa", "empresa_cnpj", "environment", "modelo", "serie", "numero_inicial",
            "numero_final", "justificativa", "source", "status", "status_sefaz",
            "mensagem_sefaz", "protocolo", "caminho_xml", "in_doubt", "created_at", "updated_at",
        ]

    def get_caminho_xml(self, obj: Inutilizacao) -> str | None:
        # Our archive's path, never Focus's (DESIGN.md §1).
        path = (obj.upstream or {}).get("caminho_xml")
        return inutilizacao_file_path(obj, "caminho_xml") if path else None
