"""Native API serializers for inutilizações."""

from __future__ import annotations

from rest_framework import serializers

from fiscal.inutilizacoes import InutilizacaoStatus, inutilizacao_file_path
from fiscal.models import Inutilizacao
from tenants.models import Environment


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
    in_doubt = serializers.SerializerMethodField()

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

    def get_in_doubt(self, obj: Inutilizacao) -> bool:
        """Sent to Focus, result unknown: waiting for Focus's hook or a repeat by the tenant."""
        gateway = (obj.upstream or {}).get("gateway") or {}
        return obj.status == InutilizacaoStatus.PENDENTE and bool(gateway.get("in_doubt"))
