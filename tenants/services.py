"""Every write to tenants, keys and companies."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core import cache as shared_cache
from core import statements
from core.claims import claim
from core.crypto import mask_secret
from core.errors import ApiError, Conflict
from tenants import focus_account, focus_fields
from tenants.changes import empresa_changed
from tenants.models import ApiKey, Empresa, Environment, Tenant

logger = logging.getLogger("tenants")

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


def api_key_create(*, tenant: Tenant, environment: str, name: str = "",
                   acting_environment: str | None = None) -> IssuedKey:
    """Issue a key; ``acting_environment`` is the environment of the API key asking, None for
    operators."""
    if environment not in Environment.values:
        raise ApiError(
            "environment must be 'homologacao' or 'producao'.",
            code="validation_error",
            fields={"environment": ["Must be 'homologacao' or 'producao'."]},
        )
    kind = "test" if environment == Environment.HOMOLOGACAO else "live"
    # A test key must not be a way to mint live keys; and a key manages only the keys of its
    # own environment (the ones it can list and revoke), so a live key creates live ones.
    if acting_environment is not None and environment != acting_environment:
        raise ApiError(f"Only a {kind} key can create {kind} keys.",
                       code="permission_denied", status_code=403)
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
    claim(ApiKey, api_key.pk, where={"revoked_at": None}, revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


# Every authenticated request runs this query: compiled once per process (public_id is
# unique, so no ORDER BY and at most one row).
_KEY_WITH_TENANT = statements.PreparedSelect(
    lambda public_id, environment: ApiKey.objects.select_related("tenant").filter(
        public_id=public_id, environment=environment)[:1],
    public_id="\x00public-id", environment="\x00environment",
)


def api_key_authenticate(*, raw: str) -> ApiKey | None:
    """The active key for a raw key string, or None. Constant-time on the secret."""
    environment = next((env for p, env in _KEY_PREFIXES.items() if raw.startswith(p)), None)
    body = raw[8:]
    if environment is None or len(body) != _PUBLIC_ID_LENGTH + _SECRET_LENGTH:
        return None
    api_key = _KEY_WITH_TENANT.one(public_id=body[:_PUBLIC_ID_LENGTH], environment=environment)
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


# A change to any of these is announced (tenants/changes.py): the company's hooks at Focus
# depend on its tokens, document types and document.
_FOCUS_FIELDS = {"token_homologacao", "token_producao", "habilita_nfe", "habilita_nfce",
                 "habilita_nfse", "habilita_nfsen", "cnpj", "cpf"}
# Our columns that are not Focus fields, or that only Focus answers: never sent to Focus.
_NOT_SENT = {"token_homologacao", "token_producao", "certificado_valido_de",
             "certificado_valido_ate", "focus_empresa_id", "habilita_nfsen"}
# A create whose outcome at Focus is unknown: the next create reads by document first.
_IN_DOUBT_SECONDS = 7 * 24 * 3600


def _kept_settings(current: dict[str, Any], given: dict[str, Any],
                   secrets: dict[str, Any]) -> dict[str, Any]:
    merged = {**current, **given}
    for name in focus_fields.MASKED_ANSWER_FIELDS:
        if secrets.get(name):
            merged[name] = mask_secret(secrets[name])  # that one is set; never the CSC itself
    return merged


def _apply_nfsen(empresa: Empresa, given: dict[str, Any]) -> bool:
    """Focus's two NFSe Nacional flags decide our one; True when it changed."""
    if focus_fields.nfsen_enabled(given) is None:
        return False
    enabled = bool(focus_fields.nfsen_enabled(empresa.focus_settings))
    if enabled == empresa.habilita_nfsen:
        return False
    empresa.habilita_nfsen = enabled
    return True


def _focus_payload(empresa: Empresa, own: list[str], settings: dict[str, Any],
                   secrets: dict[str, Any]) -> dict[str, Any]:
    """What Focus is sent: the given fields under Focus's names, the secrets passed through."""
    payload = {name: getattr(empresa, name) for name in own if name not in _NOT_SENT}
    if "habilita_nfsen" in own:
        payload.setdefault("habilita_nfsen_producao", empresa.habilita_nfsen)
        payload.setdefault("habilita_nfsen_homologacao", empresa.habilita_nfsen)
    return {**payload, **settings, **secrets}


def _learn(empresa: Empresa, answer: dict[str, Any], *, with_tokens: bool) -> list[str]:
    """Take from Focus's company answer its id, tokens and certificate; the fields changed."""
    changed = []
    if with_tokens and answer.get("id") not in (None, ""):
        empresa.focus_empresa_id = str(answer["id"])
        changed.append("focus_empresa_id")
    for environment in Environment.values:
        token = answer.get(f"token_{environment}")
        if with_tokens and token:
            setattr(empresa, f"token_{environment}", str(token))
            changed.append(f"token_{environment}")
    for name in ("certificado_valido_de", "certificado_valido_ate"):
        if name in answer:
            value = parse_datetime(str(answer[name])) if answer[name] else None
            setattr(empresa, name, value)
            changed.append(name)
    settings = dict(empresa.focus_settings)
    for name in focus_fields.CERTIFICATE_ANSWER_FIELDS:
        if name in answer:
            settings[name] = answer[name]
    for name in focus_fields.MASKED_ANSWER_FIELDS:
        if answer.get(name):
            settings[name] = mask_secret(str(answer[name]))
    if settings != empresa.focus_settings:
        empresa.focus_settings = settings
        changed.append("focus_settings")
    return changed


def _in_doubt_key(empresa: Empresa) -> str:
    return f"fg:empresa-create-in-doubt:{empresa.tenant_id}:{empresa.documento}"


def _create_at_focus(gateway: focus_account.EmpresasGateway, empresa: Empresa,
                     payload: dict[str, Any]) -> dict[str, Any]:
    """POST the company to Focus once; after an unknown outcome, read by document first.

    Focus may have created the company when its answer was lost (a timeout mid-create), so
    the next step is always ``GET /v2/empresas?cnpj=`` and a second POST only when that read
    finds nothing: never two companies at Focus. When even that read fails, the doubt is
    remembered, and the tenant's next create of the same document starts with the read.
    """
    key = _in_doubt_key(empresa)
    try:
        if shared_cache.get(key):  # an earlier create of this company ended in doubt
            found = _find(gateway, empresa)
            if found is not None:
                return found
        return _with_tokens(gateway, gateway.create(payload, dry_run=False))
    except focus_account.FocusAccountInDoubt:
        shared_cache.set(key, True, timeout=_IN_DOUBT_SECONDS)
        try:
            found = _find(gateway, empresa)
            if found is not None:
                return found
            return _with_tokens(gateway, gateway.create(payload, dry_run=False))
        except focus_account.FocusAccountInDoubt:
            raise focus_account.FocusAccountUnavailable() from None


def _dry_run_at_focus(gateway: focus_account.EmpresasGateway,
                      payload: dict[str, Any]) -> dict[str, Any]:
    try:
        return gateway.create(payload, dry_run=True)
    except focus_account.FocusAccountInDoubt:
        raise focus_account.FocusAccountUnavailable() from None  # a dry run creates nothing


def _find(gateway: focus_account.EmpresasGateway, empresa: Empresa) -> dict[str, Any] | None:
    found = gateway.find(cnpj=empresa.cnpj, cpf=empresa.cpf)
    return None if found is None else gateway.get(str(found["id"]))


def _with_tokens(gateway: focus_account.EmpresasGateway, answer: dict[str, Any]) -> dict:
    # Focus documents the tokens on the consulta; a create answer may carry them empty.
    if answer.get("token_producao") or answer.get("token_homologacao") or not answer.get("id"):
        return answer
    return gateway.get(str(answer["id"]))


def empresa_create(*, tenant: Tenant, data: dict[str, Any],
                   acting_environment: str | None = None, dry_run: bool = False) -> Empresa:
    """Create a company from validated data (see EmpresaInputSerializer).

    ``acting_environment`` is the environment of the API key asking, None for operators.
    With the tenant's Focus account token the company is created at Focus first, inside the
    transaction that holds the local row: a refusal, a timeout or a 429 leaves no row here.
    ``dry_run`` checks everything (at Focus too, with ``dry_run=1``) and writes nothing; the
    answer has no id.
    """
    _check_credentials_writable(data=data, acting_environment=acting_environment)
    own, settings, secrets = focus_fields.split(data)
    values = {key: value for key, value in own.items() if key in EMPRESA_WRITABLE_FIELDS}
    empresa = Empresa(tenant=tenant, **values,
                      focus_settings=_kept_settings({}, settings, secrets))
    _apply_nfsen(empresa, settings)
    gateway = focus_account.gateway_for(tenant)
    try:
        # A Focus call inside a transaction: it holds the (tenant, cnpj) row so a concurrent
        # create of the same company waits here and then fails, instead of a second POST.
        with transaction.atomic():
            empresa.save()
            if gateway is not None:
                payload = _focus_payload(empresa, list(values), settings, secrets)
                if dry_run:
                    _learn(empresa, _dry_run_at_focus(gateway, payload), with_tokens=False)
                else:
                    _learn(empresa, _create_at_focus(gateway, empresa, payload),
                           with_tokens=True)
                    empresa.save()
                    shared_cache.delete(_in_doubt_key(empresa))
            if dry_run:
                transaction.set_rollback(True)
    except IntegrityError as exc:
        # The constraints are the guard against two concurrent creates, not a pre-check.
        raise _write_error(exc, empresa) from exc
    if dry_run:
        empresa.pk = None  # nothing was created
        return empresa
    empresa_changed(empresa)
    return empresa


def empresa_update(*, empresa: Empresa, data: dict[str, Any],
                   acting_environment: str | None = None, dry_run: bool = False) -> Empresa:
    """Change a company; one provisioned at Focus is changed there first (same transaction)."""
    _check_credentials_writable(data=data, acting_environment=acting_environment)
    own, settings, secrets = focus_fields.split(data)
    changed = [key for key in own if key in EMPRESA_WRITABLE_FIELDS]
    for key in changed:
        setattr(empresa, key, own[key])
    empresa.focus_settings = _kept_settings(empresa.focus_settings, settings, secrets)
    if _apply_nfsen(empresa, settings):
        changed.append("habilita_nfsen")
    gateway = focus_account.gateway_for(empresa.tenant) if empresa.focus_empresa_id else None
    try:
        with transaction.atomic():
            if gateway is not None:
                payload = _focus_payload(empresa, changed, settings, secrets)
                try:
                    answer = gateway.update(empresa.focus_empresa_id, payload, dry_run=dry_run)
                except focus_account.FocusAccountInDoubt:
                    # A PUT carries the same fields when repeated: the tenant may simply retry.
                    raise focus_account.FocusAccountUnavailable() from None
                changed += _learn(empresa, answer, with_tokens=not dry_run)
            empresa.save(update_fields=[*set(changed), "focus_settings", "updated_at"])
            if dry_run:
                transaction.set_rollback(True)
    except IntegrityError as exc:
        raise _write_error(exc, empresa) from exc
    if not dry_run and _FOCUS_FIELDS & set(changed):
        empresa_changed(empresa)
    return empresa


def empresa_sync_from_focus(*, empresa: Empresa) -> Empresa:
    """Read a company provisioned at Focus and keep what Focus says (tokens, certificate)."""
    gateway = focus_account.gateway_for(empresa.tenant) if empresa.focus_empresa_id else None
    if gateway is None:
        return empresa
    try:
        answer = gateway.get(empresa.focus_empresa_id)
    except (focus_account.FocusAccountInDoubt, focus_account.FocusAccountUnavailable,
            focus_account.FocusAccountRateLimited, focus_account.FocusAccountRefused) as exc:
        # A read must not fail because Focus does: answer what we hold, learn next time.
        logger.warning("empresa %s not read at Focus: %s", empresa.pk, type(exc).__name__)
        return empresa
    changed = _learn(empresa, answer, with_tokens=True)
    if changed:
        try:
            with transaction.atomic():
                empresa.save(update_fields=[*changed, "updated_at"])
        except IntegrityError as exc:
            raise _write_error(exc, empresa) from exc
        if {"token_homologacao", "token_producao"} & set(changed):
            empresa_changed(empresa)
    return empresa


def tenant_set_focus_account_token(*, tenant: Tenant, token: str) -> Tenant:
    """Set (or, with "", remove) the tenant's Focus account token. Stored encrypted."""
    tenant.focus_account_token = token
    tenant.save(update_fields=["focus_account_token"])
    return tenant


def empresa_set_active(*, empresa: Empresa, active: bool) -> Empresa:
    """Disable (or re-enable) a company. Its notes stay; it emits nothing while disabled."""
    empresa.is_active = active
    empresa.disabled_at = None if active else timezone.now()
    empresa.save(update_fields=["is_active", "disabled_at", "updated_at"])
    if active:
        empresa_changed(empresa)
    return empresa
