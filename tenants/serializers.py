from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.documents import UF_IBGE, is_valid_cnpj, is_valid_cpf, is_valid_municipio, normalize
from core.serializers import MaskedSecretField, StrictSerializer
from tenants import focus_fields
from tenants.models import ApiKey, Empresa, Environment, RegimeTributario


class EmpresaInputSerializer(StrictSerializer):
    """Company input with Focus's empresas field names, all of them (tenants.focus_fields).

    Tokens, the certificate and the other secrets are write-only.
    """

    cnpj = serializers.CharField(required=False, allow_blank=True, max_length=18)
    cpf = serializers.CharField(required=False, allow_blank=True, max_length=14)
    nome = serializers.CharField(max_length=200)
    nome_fantasia = serializers.CharField(required=False, allow_blank=True, max_length=200)
    inscricao_estadual = serializers.CharField(required=False, allow_blank=True, max_length=20)
    inscricao_municipal = serializers.CharField(required=False, allow_blank=True, max_length=20)
    regime_tributario = serializers.ChoiceField(
        choices=RegimeTributario.choices, required=False, allow_null=True
    )
    email = serializers.EmailField(required=False, allow_blank=True)
    telefone = serializers.CharField(required=False, allow_blank=True, max_length=20)
    logradouro = serializers.CharField(required=False, allow_blank=True, max_length=200)
    numero = serializers.CharField(required=False, allow_blank=True, max_length=20)
    complemento = serializers.CharField(required=False, allow_blank=True, max_length=100)
    bairro = serializers.CharField(required=False, allow_blank=True, max_length=100)
    cep = serializers.RegexField(r"^\d{5}-?\d{3}$", required=False, allow_blank=True)
    municipio = serializers.CharField(required=False, allow_blank=True, max_length=100)
    codigo_municipio = serializers.CharField(required=False, allow_blank=True, max_length=7)
    uf = serializers.ChoiceField(choices=sorted(UF_IBGE))
    habilita_nfe = serializers.BooleanField(required=False)
    habilita_nfce = serializers.BooleanField(required=False)
    habilita_nfse = serializers.BooleanField(required=False)
    habilita_nfsen = serializers.BooleanField(required=False)
    token_homologacao = serializers.CharField(
        required=False, allow_blank=True, write_only=True, max_length=200
    )
    token_producao = serializers.CharField(
        required=False, allow_blank=True, write_only=True, max_length=200
    )
    certificado_valido_de = serializers.DateTimeField(required=False, allow_null=True)
    certificado_valido_ate = serializers.DateTimeField(required=False, allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        focus_fields.declare(fields)
        return fields

    def validate_cnpj(self, value: str) -> str:
        cnpj = normalize(value)
        if cnpj and not is_valid_cnpj(cnpj):
            raise serializers.ValidationError("Invalid CNPJ (format or check digits).")
        return cnpj

    def validate_cpf(self, value: str) -> str:
        cpf = normalize(value)
        if cpf and not is_valid_cpf(cpf):
            raise serializers.ValidationError("Invalid CPF (format or check digits).")
        return cpf

    def validate_cep(self, value: str) -> str:
        return value.replace("-", "")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance: Empresa | None = self.instance
        cnpj = attrs.get("cnpj", instance.cnpj if instance else "")
        cpf = attrs.get("cpf", instance.cpf if instance else "")
        if bool(cnpj) == bool(cpf):
            raise serializers.ValidationError({"cnpj": ["Give either cnpj or cpf (one of them)."]})
        uf = attrs.get("uf", instance.uf if instance else "")
        codigo = attrs.get("codigo_municipio", instance.codigo_municipio if instance else "")
        if codigo and not is_valid_municipio(codigo, uf):
            raise serializers.ValidationError(
                {"codigo_municipio": [f"Not an IBGE município code of {uf} (7 digits)."]}
            )
        de = attrs.get("certificado_valido_de")
        ate = attrs.get("certificado_valido_ate")
        if de and ate and ate < de:
            raise serializers.ValidationError(
                {"certificado_valido_ate": ["Must not be before certificado_valido_de."]}
            )
        return attrs


class EmpresaOutputSerializer(serializers.ModelSerializer):
    token_homologacao = MaskedSecretField()
    token_producao = MaskedSecretField()

    class Meta:
        model = Empresa
        fields = [
            "id", "cnpj", "cpf", "nome", "nome_fantasia", "inscricao_estadual",
            "inscricao_municipal", "regime_tributario", "email", "telefone", "logradouro",
            "numero", "complemento", "bairro", "cep", "municipio", "codigo_municipio", "uf",
            "habilita_nfe", "habilita_nfce", "habilita_nfse", "habilita_nfsen",
            "token_homologacao", "token_producao", "focus_empresa_id",
            "certificado_valido_de", "certificado_valido_ate", "is_active", "disabled_at",
            "created_at", "updated_at",
        ]

    def to_representation(self, instance: Empresa) -> dict[str, Any]:
        # Focus's other fields, flat as Focus answers them; NFSe Nacional per environment.
        data = super().to_representation(instance)
        settings = instance.focus_settings or {}
        for name in ("habilita_nfsen_producao", "habilita_nfsen_homologacao"):
            data[name] = settings.get(name, instance.habilita_nfsen)
        for name in (*focus_fields.SETTING_FIELDS, *focus_fields.MASKED_ANSWER_FIELDS,
                     *focus_fields.CERTIFICATE_ANSWER_FIELDS):
            data.setdefault(name, settings.get(name))
        return data


class ApiKeyInputSerializer(StrictSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    environment = serializers.ChoiceField(choices=Environment.choices)


class ApiKeyOutputSerializer(serializers.ModelSerializer):
    prefix = serializers.CharField(source="display_prefix", read_only=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id", "name", "environment", "prefix", "is_active", "created_at", "last_used_at",
            "revoked_at",
        ]


class ApiKeyCreatedSerializer(ApiKeyOutputSerializer):
    key = serializers.SerializerMethodField()

    class Meta(ApiKeyOutputSerializer.Meta):
        fields = [*ApiKeyOutputSerializer.Meta.fields, "key"]

    def get_key(self, obj: ApiKey) -> str:
        # The raw key travels in the serializer context: this answer is the only place it shows.
        return self.context["raw_key"]


class FocusAccountInputSerializer(StrictSerializer):
    # "" removes it: the tenant's companies then stay local.
    token = serializers.CharField(allow_blank=True, max_length=200, write_only=True)


class FocusAccountOutputSerializer(serializers.Serializer):
    configured = serializers.SerializerMethodField()
    token = MaskedSecretField(source="focus_account_token")

    def get_configured(self, obj: Any) -> bool:
        return bool(obj.focus_account_token)
