from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.constraints import PostgresExclusionConstraint
from core.crypto import EncryptedTextField, secret_fingerprint
from core.documents import UF_IBGE
from core.models import TimestampedModel


class Environment(models.TextChoices):
    # Focus's two environments; a key's environment is that of every document emitted with it.
    HOMOLOGACAO = "homologacao", "Homologação (test)"
    PRODUCAO = "producao", "Produção (live)"


class Tenant(models.Model):
    """A SaaS customer of the gateway."""

    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    # Requests per minute through our API; empty means FG_TENANT_RATE_LIMIT.
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    # Focus's account (reseller) token: with it the tenant's companies are created, changed and
    # read at Focus's /v2/empresas (tenants.focus_account). Encrypted; never shown but masked.
    focus_account_token = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A tenant's key: ``fg_test_<id><secret>`` or ``fg_live_<id><secret>``.

    ``public_id`` finds the row; of the whole key only a SHA-256 digest is stored. A slow
    password hash buys nothing here: the secret is 32 random characters (~190 bits), beyond
    guessing, and authentication must stay cheap on every request.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    environment = models.CharField(max_length=12, choices=Environment.choices)
    public_id = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.display_prefix}… ({self.name or 'unnamed'})"

    @property
    def display_prefix(self) -> str:
        kind = "test" if self.environment == Environment.HOMOLOGACAO else "live"
        return f"fg_{kind}_{self.public_id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


UF_CHOICES = [(uf, uf) for uf in sorted(UF_IBGE)]


class RegimeTributario(models.IntegerChoices):
    # Focus's codes (SUPPLEMENT.md, empresas).
    SIMPLES_NACIONAL = 1, "Simples Nacional"
    SIMPLES_EXCESSO = 2, "Simples Nacional - excesso de sublimite"
    NORMAL = 3, "Regime normal"
    MEI = 4, "MEI"


class DocType(models.TextChoices):
    NFE = "nfe", "NFe"
    NFCE = "nfce", "NFCe"
    NFSE = "nfse", "NFSe"
    NFSEN = "nfsen", "NFSe Nacional"


class Empresa(TimestampedModel):
    """A company a tenant emits for. Field names follow Focus's empresas API."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="empresas")
    # Exactly one of cnpj / cpf (a CPF for rural producers and individuals who emit NFe).
    cnpj = models.CharField(max_length=14, blank=True)
    cpf = models.CharField(max_length=11, blank=True)
    nome = models.CharField(max_length=200)
    nome_fantasia = models.CharField(max_length=200, blank=True)
    inscricao_estadual = models.CharField(max_length=20, blank=True)
    inscricao_municipal = models.CharField(max_length=20, blank=True)
    regime_tributario = models.PositiveSmallIntegerField(
        choices=RegimeTributario.choices, null=True, blank=True
    )
    email = models.EmailField(blank=True)
    telefone = models.CharField(max_length=20, blank=True)
    logradouro = models.CharField(max_length=200, blank=True)
    numero = models.CharField(max_length=20, blank=True)
    complemento = models.CharField(max_length=100, blank=True)
    bairro = models.CharField(max_length=100, blank=True)
    cep = models.CharField(max_length=8, blank=True)
    municipio = models.CharField(max_length=100, blank=True)
    codigo_municipio = models.CharField(max_length=7, blank=True)
    uf = models.CharField(max_length=2, choices=UF_CHOICES)
    habilita_nfe = models.BooleanField(default=False)
    habilita_nfce = models.BooleanField(default=False)
    habilita_nfse = models.BooleanField(default=False)
    habilita_nfsen = models.BooleanField(default=False)
    # Focus tokens, encrypted at rest (core.crypto); never shown except masked.
    token_homologacao = EncryptedTextField(blank=True, default="")
    token_producao = EncryptedTextField(blank=True, default="")
    # Keyed digests of the tokens (core.crypto.secret_fingerprint), kept by save(): the
    # ciphertext cannot be compared, these can. A token belongs to one tenant (constraints).
    token_homologacao_fingerprint = models.CharField(
        max_length=64, blank=True, default="", editable=False)
    token_producao_fingerprint = models.CharField(
        max_length=64, blank=True, default="", editable=False)
    # Focus's own id, when the gateway manages the company through /v2/empresas.
    focus_empresa_id = models.CharField(max_length=40, blank=True)
    certificado_valido_de = models.DateTimeField(null=True, blank=True)
    certificado_valido_ate = models.DateTimeField(null=True, blank=True)
    # Focus's other company settings (tenants.focus_fields), as sent; never a secret.
    focus_settings = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "cnpj"], condition=~Q(cnpj=""), name="empresa_unique_cnpj"
            ),
            models.UniqueConstraint(
                fields=["tenant", "cpf"], condition=~Q(cpf=""), name="empresa_unique_cpf"
            ),
            models.CheckConstraint(
                condition=(Q(cnpj="") & ~Q(cpf="")) | (~Q(cnpj="") & Q(cpf="")),
                name="empresa_cnpj_xor_cpf",
            ),
            # Whoever holds a Focus token can list its hooks (with their secrets) and post
            # forged deliveries, so one token may serve one tenant only. The same tenant may
            # use it for several of its companies: Focus lets one token (an account's) emit for
            # several CNPJs. Excluded rows: same fingerprint, different tenant. The constraint,
            # not a read first, is what stops two tenants registering it at the same moment.
            *[
                PostgresExclusionConstraint(
                    name=f"empresa_token_{environment}_one_tenant",
                    expressions=[
                        (f"token_{environment}_fingerprint", RangeOperators.EQUAL),
                        ("tenant", RangeOperators.NOT_EQUAL),
                    ],
                    condition=~Q(**{f"token_{environment}_fingerprint": ""}),
                )
                for environment in ("homologacao", "producao")
            ],
        ]
        indexes = [models.Index(fields=["cnpj"]), models.Index(fields=["cpf"])]

    def __str__(self) -> str:
        return f"{self.nome} ({self.documento})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Here rather than in a service: every writer of a token (services, the admin form, key
        # rotation) must leave its fingerprint true, or the one-tenant rule could be bypassed.
        update_fields = kwargs.get("update_fields")
        for environment in ("homologacao", "producao"):
            field = f"token_{environment}"
            if update_fields is not None and field not in update_fields:
                continue  # not written: do not load a deferred token for nothing
            setattr(self, f"{field}_fingerprint", secret_fingerprint(getattr(self, field)))
            if update_fields is not None:
                update_fields = [*update_fields, f"{field}_fingerprint"]
        if update_fields is not None:
            kwargs["update_fields"] = update_fields
        super().save(*args, **kwargs)

    @property
    def documento(self) -> str:
        return self.cnpj or self.cpf

    def certificate_expired(self, now: datetime | None = None) -> bool:
        """Past its certificate's validity, as Focus last told us (unknown: not expired)."""
        if self.certificado_valido_ate is None:
            return False
        return self.certificado_valido_ate <= (now or timezone.now())

    def enabled_for(self, doc_type: str) -> bool:
        return self.is_active and bool(getattr(self, f"habilita_{doc_type}", False))

    def focus_token_fingerprint(self, environment: str) -> str:
        if environment == Environment.PRODUCAO:
            return self.token_producao_fingerprint
        return self.token_homologacao_fingerprint

    def focus_token(self, environment: str) -> str:
        if environment == Environment.PRODUCAO:
            return self.token_producao
        return self.token_homologacao
