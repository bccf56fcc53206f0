"""Focus's side endpoints that are not a note's lifecycle: importação of an NFe XML, DANFe
preview, NFSe by file (lotes RPS). Plus the small helpers the synchronous operations share
(fiscal/inutilizacoes.py uses them too).

Reference: focus-nfe-api-v2.txt NFe "Importação" (raw XML body, ``ref`` defaults to the chave,
answer = the consulta), "Pré-visualização de DANFe" (JSON or XML in, PDF out, nothing kept);
FocusNFe/api-doc ``_lote_rps.md`` "NFSe por Arquivo" (POST /v2/lotes_rps?ref= → 201 with the
text file, GET /v2/lotes_rps/REF → 200 the same file, POST /v2/lotes_rps/REF/resposta → 201
with the status of each RPS).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core.documents import normalize
from core.errors import FocusError
from core.parsers import json_depth
from fiscal import emission, inline, services
from fiscal.focus.client import (
    FocusClient,
    FocusFile,
    FocusNotFound,
    FocusRejected,
    FocusUpstreamError,
)
from fiscal.inline import focus_client_for, in_doubt_body
from fiscal.services import StepResult
from fiscal.validation import emitter_document, validate_document, validate_ref
from tenants.models import ApiKey, Empresa, Tenant

logger = logging.getLogger("fiscal.extras")


# --- NFe XML ---------------------------------------------------------------------------------

_XML_ERROR = FocusError(
    "erro_validacao_xml",
    "O XML não pode ser interpretado, verifique seu conteúdo e tente novamente",
    status_code=422,
)
# An NFe never carries a DTD; refusing one keeps entity tricks (billion laughs, external
# entities) away from the parser without a new dependency.
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class NFeXml:
    chave: str
    emitente: str


def parse_nfe_xml(raw: bytes) -> NFeXml:
    """The chave and the emitter's CNPJ/CPF of an NFe XML (nfeProc or NFe), or Focus's 422."""
    if not raw.strip() or _DTD.search(raw):
        raise _XML_ERROR
    try:
        root = ET.fromstring(raw)  # noqa: S314 - no DTD allowed (above); expat resolves nothing
    except ET.ParseError:
        raise _XML_ERROR from None

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    inf = next((el for el in root.iter() if local(el.tag) == "infNFe"), None)
    emit = next((el for el in root.iter() if local(el.tag) == "emit"), None)
    if inf is None or emit is None:
        raise _XML_ERROR
    chave = inf.get("Id", "").removeprefix("NFe")
    documento = next(
        (normalize(el.text or "") for el in emit if local(el.tag) in ("CNPJ", "CPF")), ""
    )
    if len(chave) != 44 or not documento:
        raise _XML_ERROR
    return NFeXml(chave=chave, emitente=documento)


# --- importação --------------------------------------------------------------------------------

def importacao_request(*, api_key: ApiKey, ref: str | None, xml: bytes) -> StepResult:
    """Import an NFe issued elsewhere: a note like any other (fiscal/emission.py), whose POST
    is the XML. Focus answers it in the same request.

    Rules as for an emission: the emitter must be the tenant's company, enabled for NFe; the
    ref is unique per tenant/environment/type and may be reused only after erro_autorizacao.
    """
    parsed = parse_nfe_xml(xml)
    # Focus's rule: without ?ref= the note's ref is "NFe" + chave.
    ref = validate_ref(ref or f"NFe{parsed.chave}")
    empresa = services.empresa_for_document(tenant=api_key.tenant, doc_type="nfe",
                                            document=parsed.emitente)
    # The XML as received is the note's payload: it is the only copy of the document we have
    # until Focus answers and the archive keeps its own.
    payload = {"importacao": True, "chave": parsed.chave, "xml": xml.decode("utf-8", "replace")}
    accepted = services.note_persist(api_key=api_key, empresa=empresa, doc_type="nfe", ref=ref,
                                     payload=payload)
    return emission.note_submit(accepted=accepted)


# --- DANFe preview ------------------------------------------------------------------------------

def _parse_json_body(raw: bytes) -> Any:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        # Focus answers 415 for a body it cannot parse.
        raise FocusError("requisicao_invalida", "JSON inválido", status_code=415) from None
    if json_depth(data) > settings.FG_MAX_JSON_DEPTH:
        raise FocusError("requisicao_invalida", "JSON aninhado demais", status_code=415)
    return data


def danfe_preview(*, api_key: ApiKey, body: bytes) -> FocusFile:
    """Focus renders a DANFe of a note that is not issued (stateless): its PDF, passed on."""
    is_xml = body.lstrip().startswith(b"<")
    if is_xml:
        document = parse_nfe_xml(body).emitente
        content_type = "application/xml"
    else:
        _, document = validate_document("nfe", _parse_json_body(body))
        content_type = "application/json"
    empresa = services.empresa_for_document(tenant=api_key.tenant, doc_type="nfe",
                                            document=document)
    client = focus_client_for(empresa=empresa, environment=api_key.environment)
    answer = _stateless(lambda: client.danfe_preview(body, content_type=content_type))
    logger.info("danfe preview: tenant %s empresa %s (%s) %s bytes", api_key.tenant_id,
                empresa.pk, "xml" if is_xml else "json", len(answer.content))
    return answer


def _unanswered(exc: FocusUpstreamError) -> FocusFile:
    raise FocusError(
        "servico_indisponivel",
        "Focus NFe não respondeu a tempo. Nada foi guardado; tente novamente.",
        status_code=503,
    ) from None


def _stateless(request: Callable[[], FocusFile], *,
               in_doubt: Callable[[FocusUpstreamError], FocusFile] = _unanswered) -> FocusFile:
    """A call with nothing to keep: Focus's refusals pass through, failures become 429/503."""
    return inline.call(request, answered=lambda answer: answer,
                       refused=lambda exc: _json_raw(exc.status_code, exc.body),
                       in_doubt=in_doubt)


# --- lotes RPS (NFSe por arquivo) ---------------------------------------------------------------

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
    data = _parse_json_body(body)
    empresa = services.empresa_for_document(tenant=api_key.tenant, doc_type="nfse",
                                            document=_lote_document(data))
    client = focus_client_for(empresa=empresa, environment=api_key.environment)
    upstream_ref = lote_upstream_ref(tenant=api_key.tenant, environment=api_key.environment,
                                     ref=ref)

    def in_doubt(exc: FocusUpstreamError) -> FocusFile:
        # Focus may have generated the file: reading it is safe, sending again is not (it
        # would number the RPS again).
        logger.warning("lote %s of tenant %s in doubt: %s", ref, api_key.tenant_id, exc)
        return _json_raw(202, in_doubt_body(
            f"O lote pode ter sido gerado; consulte GET /v2/lotes_rps/{ref} antes de reenviar.",
            ref=ref))

    answer = _stateless(lambda: client.lote_create(upstream_ref, data), in_doubt=in_doubt)
    if answer.status_code < 300:
        logger.info("lote %s of tenant %s generated (empresa %s)", ref, api_key.tenant_id,
                    empresa.pk)
    return answer


def _json_raw(status_code: int, body: Any) -> FocusFile:
    return FocusFile(status_code=status_code, content_type="application/json",
                     content=json.dumps(body, ensure_ascii=False).encode())


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
        client = focus_client_for(empresa=empresa, environment=api_key.environment)
        try:
            answer = inline.call(lambda c=client: c.lote_get(upstream_ref),
                                 answered=lambda answer: answer, refused=_raise,
                                 in_doubt=_unanswered)
        except FocusNotFound:
            continue
        return client, upstream_ref, answer
    raise FocusError("nao_encontrado", "Lote não encontrado", status_code=404)


def lote_get(*, api_key: ApiKey, ref: str) -> FocusFile:
    try:
        return _lote_find(api_key=api_key, ref=ref)[2]
    except FocusRejected as exc:
        return _json_raw(exc.status_code, exc.body)


def lote_resposta(*, api_key: ApiKey, ref: str, body: bytes) -> FocusFile:
    """The prefeitura's return file, for Focus to turn into the status of each RPS."""
    if not body.strip():
        raise FocusError("midia_invalida", "Formato de arquivo inválido", status_code=415)
    try:
        client, upstream_ref, _ = _lote_find(api_key=api_key, ref=ref)
    except FocusRejected as exc:
        return _json_raw(exc.status_code, exc.body)

    def in_doubt(exc: FocusUpstreamError) -> FocusFile:
        logger.warning("lote resposta %s of tenant %s in doubt: %s", ref, api_key.tenant_id, exc)
        return _json_raw(202, in_doubt_body(
            "A resposta da prefeitura foi enviada e o resultado não é conhecido.", ref=ref))

    return _stateless(lambda: client.lote_resposta(upstream_ref, body), in_doubt=in_doubt)


def _raise(exc: FocusRejected) -> FocusFile:
    raise exc
