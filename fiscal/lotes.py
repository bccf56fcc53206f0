"""Lotes RPS (NFSe por arquivo): Focus turns a batch of RPS into the prefeitura's text file,
and the prefeitura's return file into the status of each RPS. Nothing is kept here.

Reference: FocusNFe/api-doc ``_lote_rps.md`` "NFSe por Arquivo" (POST /v2/lotes_rps?ref= → 201
with the text file, GET /v2/lotes_rps/REF → 200 the same file, POST /v2/lotes_rps/REF/resposta
→ 201 with the status of each RPS).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from core.errors import FocusError
from fiscal import inline, services
from fiscal.focus.client import (
    FocusClient,
    FocusFile,
    FocusNotFound,
    FocusRejected,
    FocusUpstreamError,
)
from fiscal.inline import in_doubt_body
from fiscal.validation import emitter_document, parse_json_body, validate_ref
from tenants.models import ApiKey, Empresa, Tenant

logger = logging.getLogger("fiscal.lotes")


def lote_upstream_ref(*, tenant: Tenant, environment: str, ref: str) -> str:
    """The ref we give Focus for a tenant's lote: Focus keys lotes per token, and a token may be
    shared by tenants, so the tenant is part of it. Derived (not stored): there is no lote table
    yet, and a GET must find it again from the tenant's ref alone."""
    digest = hashlib.sha256(f"{tenant.pk}:{environment}:{ref}".encode()).hexdigest()[:24]
    return f"fgl{digest}"


def _lote_document(data: Any) -> str:
    if not isinstance(data, dict) or not isinstance(data.get("prestador"), dict) or not (
        isinstance(data.get("lista_nfse"), list) and data["lista_nfse"]
    ):
        # Reference: _lote_rps.md, "422 Campos obrigatórios não preenchidos".
        raise FocusError("requisicao_invalida",
                         'Campos "prestador" e "lista_nfse" são obrigatórios', status_code=422)
    return emitter_document("nfse", data)[1]


def lote_create(*, api_key: ApiKey, ref: str | None, body: bytes) -> FocusFile:
    ref = validate_ref(ref)
    data = parse_json_body(body)
    empresa = services.empresa_for_document(tenant=api_key.tenant, doc_type="nfse",
                                            document=_lote_document(data))
    client = inline.focus_client_for(empresa=empresa, environment=api_key.environment)
    upstream_ref = lote_upstream_ref(tenant=api_key.tenant, environment=api_key.environment,
                                     ref=ref)

    def in_doubt(exc: FocusUpstreamError) -> FocusFile:
        # Focus may have generated the file: reading it is safe, sending again is not (it
        # would number the RPS again).
        logger.warning("lote %s of tenant %s in doubt: %s", ref, api_key.tenant_id, exc)
        return inline.json_file(202, in_doubt_body(
            f"O lote pode ter sido gerado; consulte GET /v2/lotes_rps/{ref} antes de reenviar.",
            ref=ref))

    answer = inline.stateless(lambda: client.lote_create(upstream_ref, data), in_doubt=in_doubt)
    if answer.status_code < 300:
        logger.info("lote %s of tenant %s generated (empresa %s)", ref, api_key.tenant_id,
                    empresa.pk)
    return answer


# Upper bound of the companies a lote lookup asks Focus about (see lote_find).
LOTE_LOOKUP_LIMIT = 20


def _lote_find(*, api_key: ApiKey, ref: str) -> tuple[FocusClient, str, FocusFile]:
    """Which of the tenant's NFSe companies holds the lote, with Focus's GET answer.

    With no lote table the company is not recorded, so the tenant's NFSe-enabled companies are
    asked in turn (distinct Focus tokens, at most LOTE_LOOKUP_LIMIT); a tenant has few.
    """
    ref = validate_ref(ref)
    upstream_ref = lote_upstream_ref(tenant=api_key.tenant, environment=api_key.environment,
                                     ref=ref)
    tried: set[str] = set()
    empresas = Empresa.objects.filter(tenant=api_key.tenant, is_active=True, habilita_nfse=True)
    for empresa in empresas.order_by("id")[:LOTE_LOOKUP_LIMIT]:
        token = empresa.focus_token(api_key.environment)
        if not token or token in tried:
            continue
        tried.add(token)
        client = inline.focus_client_for(empresa=empresa, environment=api_key.environment)
        try:
            answer = inline.call(lambda c=client: c.lote_get(upstream_ref),
                                 answered=lambda answer: answer, refused=_raise,
                                 in_doubt=inline.unanswered)
        except FocusNotFound:
            continue
        return client, upstream_ref, answer
    raise FocusError("nao_encontrado", "Lote não encontrado", status_code=404)


def lote_get(*, api_key: ApiKey, ref: str) -> FocusFile:
    try:
        return _lote_find(api_key=api_key, ref=ref)[2]
    except FocusRejected as exc:
        return inline.json_file(exc.status_code, exc.body)


def lote_resposta(*, api_key: ApiKey, ref: str, body: bytes) -> FocusFile:
    """The prefeitura's return file, for Focus to turn into the status of each RPS."""
    if not body.strip():
        raise FocusError("midia_invalida", "Formato de arquivo inválido", status_code=415)
    try:
        client, upstream_ref, _ = _lote_find(api_key=api_key, ref=ref)
    except FocusRejected as exc:
        return inline.json_file(exc.status_code, exc.body)

    def in_doubt(exc: FocusUpstreamError) -> FocusFile:
        logger.warning("lote resposta %s of tenant %s in doubt: %s", ref, api_key.tenant_id, exc)
        return inline.json_file(202, in_doubt_body(
            "A resposta da prefeitura foi enviada e o resultado não é conhecido.", ref=ref))

    return inline.stateless(lambda: client.lote_resposta(upstream_ref, body), in_doubt=in_doubt)


def _raise(exc: FocusRejected) -> FocusFile:
    raise exc
