"""Every write to tenants, keys and companies."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ApiError, Conflict
from tenants.models import ApiKey, Empresa, Environment, Tenant

_ALPHABET = string.ascii_letters + string.digits
_PUBLIC_ID_LENGTH = 12
_SECRET_LENGTH = 32
_KEY_PREFIXES = {"fg_test_": Environment.HOMOLOGACAO, "fg_live_": Environment.PRODUCAO}
# Compared against when the public id is unknown, so that a miss costs what a hit costs.
_DUMMY_HASH = hashlib.sha256(b"fiscal-gateway-no-such-key").hexdigest()


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    # The whole key; it exists only in this object and is shown once.
    raw: str


def tenant_create(*, name: str) -> Tenant:
    return Tenant.objects.create(name=name)


def api_key_create(*, tenant: Tenant, environment: str, name: str = "") -> IssuedKey:
    if environment not in Environment.values:
        raise ApiError(
            "environment must be 'homologacao' or 'producao'.",
            code="validation_error",
            fields={"environment": ["Must be 'homologacao' or 'producao'."]},
        )
    kind = "test" if environment == Environment.HOMOLOGACAO else "live"
    public_id = _random(_PUBLIC_ID_LENGTH)
    raw = f"fg_{kind}_{public_id}{_random(_SECRET_LENGTH)}"
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        environment=environment,
        public_id=public_id,
        secret_hash=_hash_key(raw),
    )
    return IssuedKey(api_key=api_key, raw=raw)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    # Conditional: revoking twice keeps the first revocation time.
    ApiKey.objects.filter(pk=api_key.pk, revoked_at=None).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def api_key_authenticate(*, raw: str) -> ApiKey | None:
    """The active key for a raw key string, or None. Constant-time on the secret."""
    environment = next((env for p, env in _KEY_PREFIXES.items() if raw.startswith(p)), None)
    body = raw[8:]
    if environment is None or len(body) != _PUBLIC_ID_LENGTH + _SECRET_LENGTH:
        return None
    api_key = (
        ApiKey.objects.select_related("tenant")
        .filter(public_id=body[:_PUBLIC_ID_LENGTH], environment=environment)
        .first()
    )
    expected = api_key.secret_hash if api_key else _DUMMY_HASH
    if not hmac.compare_digest(expected, _hash_key(raw)) or api_key is None:
        return None
    if api_key.revoked_at is not None or not api_key.tenant.is_active:
        return None
    _touch(api_key)
    return api_key


def _touch(api_key: ApiKey) -> None:
    """Record use at most once a minute per key: a write per request would be waste."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.FG_API_KEY_TOUCH_SECONDS)
    if api_key.last_used_at is None or api_key.last_used_at < stale:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


EMPRESA_WRITABLE_FIELDS = (
    "cnpj", "cpf", "nome", "nome_fantasia", "inscricao_estadual", "inscricao_municipal",
    "regime_tributario", "email", "telefone", "logradouro", "numero", "complemento", "bairro",
    "cep", "municipio", "codigo_municipio", "uf", "habilita_nfe", "habilita_nfce",
    "habilita_nfse", "habilita_nfsen", "token_homologacao", "token_producao",
    "certificado_valido_de", "certificado_valido_ate", "focus_empresa_id",
)


def _duplicate_error(documento: str) -> Conflict:
    return Conflict(
        f"A company with document {documento} already exists for this tenant.",
        code="duplicate_empresa",
        fields={"cnpj": ["Already registered for this tenant."]},
    )


_TOKEN_CONSTRAINTS = {
    f"empresa_token_{environment}_one_tenant": f"token_{environment}"
    for environment in Environment.values
}


def _write_error(exc: IntegrityError, empresa: Empresa) -> Conflict:
    """Which unique rule a refused write broke, as a 409 (both APIs render it in their shape)."""
    diag = getattr(exc.__cause__, "diag", None)
    field = _TOKEN_CONSTRAINTS.get(getattr(diag, "constraint_name", None) or "")
    if field is None:
        return _duplicate_error(empresa.documento)
    # Which tenant holds it is not said: that would tell one customer about another.
    return Conflict(
        "This Focus token is already registered by another tenant; a Focus token belongs to "
        "one tenant.",
        code="focus_token_in_use",
        fields={field: ["Registered by another tenant."]},
    )


def _focus_setup_changed(empresa: Empresa) -> None:
    """After commit: (re)register the company's hooks at Focus, in the background."""
    from fiscal.tasks import enqueue_hook_sync  # fiscal builds on tenants, not the reverse

    transaction.on_commit(lambda: enqueue_hook_sync(empresa.pk))


# The Focus credential each environment's keys may set. A company is shared by both
# environments (it has both tokens); a key writes only its own environment's token.
_CREDENTIAL_FIELDS = {
    Environment.HOMOLOGACAO: "token_homologacao",
    Environment.PRODUCAO: "token_producao",
}


def _check_credentials_writable(*, data: dict[str, Any], acting_environment: str | None) -> None:
    """Refuse, before anything is written, a key's write of the other environment's token.

    403 (not 400): the request is well formed, the key lacks the right. Refused on presence,
    whatever the value, so the answer tells nothing about the stored token.
    """
    if acting_environment is None:  # operators and internal callers, not an API key
        return
    foreign = sorted(
        field for env, field in _CREDENTIAL_FIELDS.items()
        if env != acting_environment and field in data
    )
    if foreign:
        kind = "live" if acting_environment == Environment.PRODUCAO else "test"
        raise ApiError(
            f"A {kind} key cannot set the other environment's Focus token.",
            code="permission_denied",
            status_code=403,
            fields={field: ["Set it with a key of that environment."] for field in foreign},
        )


_FOCUS_FIELDS = {"token_homologacao", "token_producao", "habilita_nfe", "habilita_nfce",
                 "habilita_nfse", "habilita_nfsen", "cnpj", "cpf"}


def empresa_create(*, tenant: Tenant, data: dict[str, Any],
                   acting_environment: str | None = None) -> Empresa:
    """Create a company from validated data (see EmpresaInputSerializer).

    ``acting_environment`` is the environment of the API key asking, None for operators.
    """
    _check_credentials_writable(data=data, acting_environment=acting_environment)
    values = {key: value for key, value in data.items() if key in EMPRESA_WRITABLE_FIELDS}
    empresa = Empresa(tenant=tenant, **values)
    try:
        with transaction.atomic():
            empresa.save()
    except IntegrityError as exc:
        # The constraints are the guard against two concurrent creates, not a pre-check.
        raise _write_error(exc, empresa) from exc
    _focus_setup_changed(empresa)
    return empresa


def empresa_update(*, empresa: Empresa, data: dict[str, Any],
                   acting_environment: str | None = None) -> Empresa:
    _check_credentials_writable(data=data, acting_environment=acting_environment)
    changed = [key for key in data if key in EMPRESA_WRITABLE_FIELDS]
    for key in changed:
        setattr(empresa, key, data[key])
    try:
        with transaction.atomic():
            empresa.save(update_fields=[*changed, "updated_at"])
    except IntegrityError as exc:
        raise _write_error(exc, empresa) from exc
    if _FOCUS_FIELDS & set(changed):
        _focus_setup_changed(empresa)
    return empresa


def empresa_set_active(*, empresa: Empresa, active: bool) -> Empresa:
    """Disable (or re-enable) a company. Its notes stay; it emits nothing while disabled."""
    empresa.is_active = active
    empresa.disabled_at = None if active else timezone.now()
    empresa.save(update_fields=["is_active", "disabled_at", "updated_at"])
    if active:
        _focus_setup_changed(empresa)
    return empresa
