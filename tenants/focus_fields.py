"""The company fields of Focus's empresas API that the gateway's own columns do not hold.

Reference: FocusNFe/api-doc ``source/includes/_empresas.md`` ("Campos" and the create answer).
Focus clients send every one of them; the gateway accepts them all:

- ``SECRET_FIELDS`` travel to Focus (with a Focus account token) and are never kept, logged or
  answered: the certificate and its password, the prefeitura and SMTP passwords, the NFCe CSC
  (it signs the consumer's QR code). Focus answers the certificate as ``certificado_*`` dates.
- ``BOOLEAN_FIELDS`` and ``SCALAR_FIELDS`` are settings: kept in ``Empresa.focus_settings`` and
  answered as given (and sent to Focus when the company is provisioned there).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MASK = "••••"  # how core.crypto.mask_secret begins

SECRET_FIELDS = (
    "arquivo_certificado_base64", "senha_certificado", "senha_responsavel", "smtp_senha",
    "csc_nfce_producao", "csc_nfce_homologacao", "arquivo_logo_base64",
)
# Answered masked when Focus has one (Focus answers the CSC itself; we show its last digits).
MASKED_ANSWER_FIELDS = ("csc_nfce_producao", "csc_nfce_homologacao")

_DOCS = ("nfe", "nfce", "nfse", "nfsen", "cte", "cte_os", "mdfe")
_ENVS = ("producao", "homologacao")

BOOLEAN_FIELDS = (
    "discrimina_impostos", "enviar_email_destinatario", "enviar_email_homologacao",
    "habilita_nfsen_producao", "habilita_nfsen_homologacao",
    "habilita_nfsen_recebidas_producao", "habilita_nfsen_recebidas_homologacao",
    "habilita_cte", "habilita_mdfe", "habilita_manifestacao", "habilita_manifestacao_homologacao",
    "habilita_manifestacao_cte", "habilita_manifestacao_cte_homologacao",
    "habilita_contingencia_offline_nfce", "habilita_contingencia_epec_nfce",
    "reaproveita_numero_nfce_contingencia", "mostrar_danfse_badge", "recibo_danfe",
    "exibe_sempre_ipi_danfe", "exibe_issqn_danfe", "exibe_impostos_adicionais_danfe",
    "exibe_fatura_danfe", "exibe_unidade_tributaria_danfe", "exibe_desconto_itens",
    "exibe_sempre_volumes_danfe", "exibe_composicao_carga_mdfe", "habilita_csrt_nfe",
    "nfe_sincrono", "nfe_sincrono_homologacao", "mdfe_sincrono", "mdfe_sincrono_homologacao",
    "certificado_especifico", "delete_logo", "smtp_habilita_starttls", "smtp_ssl", "smtp_tls",
)

SCALAR_FIELDS = (
    "cpf_cnpj_contabilidade", "orientacao_danfe", "id_token_nfce_producao",
    "id_token_nfce_homologacao", "nome_responsavel", "cpf_responsavel", "cargo_responsavel",
    "login_responsavel", "data_inicio_recebimento_nfe", "data_inicio_recebimento_cte",
    "smtp_endereco", "smtp_dominio", "smtp_autenticacao", "smtp_porta", "smtp_login",
    "smtp_remetente", "smtp_responder_para", "smtp_modo_verificacao_openssl",
    "codigo_pais", "pais", "codigo_uf",
    *(f"{kind}_{doc}_{env}" for kind in ("proximo_numero", "serie") for doc in _DOCS
      for env in _ENVS),
)

SETTING_FIELDS = (*BOOLEAN_FIELDS, *SCALAR_FIELDS)

# What only Focus's answers carry about the installed certificate (kept with the settings).
CERTIFICATE_ANSWER_FIELDS = ("certificado_cnpj",)
# Fields only Focus's answers carry. A client that reads a company, changes a field and sends
# it back sends these too: accepted and ignored, as Focus does.
ANSWER_ONLY_FIELDS = ("id", "caminho_logo", "data_ultima_emissao", "senha_responsavel_preenchida",
                      *CERTIFICATE_ANSWER_FIELDS)

_NFSEN_FLAGS = ("habilita_nfsen_producao", "habilita_nfsen_homologacao")


@extend_schema_field({"type": ["string", "number"], "maxLength": 500})
class FocusScalarField(serializers.Field):
    """A Focus field documented as text or number: a string, a number or null, kept as sent."""

    default_error_messages = {"invalid": "Must be a string or a number.",
                              "too_long": "At most 500 characters."}

    def to_internal_value(self, data: Any) -> Any:
        if data is None or isinstance(data, bool) or not isinstance(data, str | int | float):
            if data is None:
                return None
            self.fail("invalid")
        if isinstance(data, str) and len(data) > 500:
            self.fail("too_long")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


def declare(fields: dict[str, serializers.Field]) -> None:
    """Add Focus's extra company fields to a serializer's declared fields."""
    for name in BOOLEAN_FIELDS:
        fields[name] = serializers.BooleanField(required=False, allow_null=True)
    for name in SCALAR_FIELDS:
        fields[name] = FocusScalarField(required=False, allow_null=True)
    for name in ANSWER_ONLY_FIELDS:
        fields.setdefault(name, serializers.JSONField(required=False, allow_null=True,
                                                      write_only=True))
    for name in SECRET_FIELDS:
        # Write-only: never part of any answer. A certificate in base64 is a few kilobytes.
        fields[name] = serializers.CharField(
            required=False, allow_blank=True, allow_null=True, write_only=True,
            max_length=200_000,
            trim_whitespace=name != "senha_certificado",
        )


def split(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Validated input as (own columns, settings, secrets); answer-only fields dropped."""
    own = {k: v for k, v in data.items()
           if k not in SETTING_FIELDS and k not in SECRET_FIELDS and k not in ANSWER_ONLY_FIELDS}
    settings = {k: v for k, v in data.items() if k in SETTING_FIELDS}
    # A masked value is our own answer sent back (read, change, send): never a new secret.
    secrets = {k: v for k, v in data.items()
               if k in SECRET_FIELDS and v not in (None, "") and not str(v).startswith(MASK)}
    return own, settings, secrets


def nfsen_enabled(settings: dict[str, Any]) -> bool | None:
    """Our one ``habilita_nfsen`` from Focus's two flags; None when neither was given."""
    given = [settings[name] for name in _NFSEN_FLAGS if name in settings]
    if not given:
        return None
    return any(bool(value) for value in given)
