"""Inutilizações: voided number ranges, asked by the tenant or reported by Focus.

Reference: focus-nfe-api-v2.txt NFe "Inutilização" (POST /v2/nfe/inutilizacao, also /v2/nfce/;
synchronous: Focus answers SEFAZ's result in the same request, 200 with ``status`` autorizado
(102) or erro_autorizacao (241 used number, 256 already voided, ...)), and SUPPLEMENT.md "Hooks"
(the ``inutilizacao`` event: Focus voided a range itself).

Focus has no GET for an inutilização, so an ambiguous call (timeout, reset, 5xx after sending,
an unreadable answer) cannot be read back. The row stays ``pendente`` and ``in_doubt``, the
failure noted in ``upstream["gateway"]``, and nothing is sent again on its own. It settles
when Focus's ``inutilizacao`` hook reports the range, or when the tenant sends the range again:
voiding is idempotent at SEFAZ (a range it already holds is answered 256), so a repeat is
always safe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from core.claims import claim
from core.documents import is_valid_cnpj, is_valid_cpf, normalize
from core.errors import FocusError
from fiscal import inline, services
from fiscal.changes import ChangeType, FiscalChange, publish
from fiscal.focus.client import FocusAnswer, FocusRejected, FocusUpstreamError
from fiscal.inline import Answer, in_doubt_body
from fiscal.models import FocusHook, Inutilizacao, InutilizacaoStatus
from tenants.models import ApiKey, Empresa, Tenant

logger = logging.getLogger("fiscal.inutilizacoes")

MODELOS = {"nfe": "55", "nfce": "65"}
REQUIRED = ("cnpj", "serie", "numero_inicial", "numero_final", "justificativa")
MAX_NUMERO = 999_999_999  # nNF has 9 digits


# --- input ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InutilizacaoInput:
    documento: str
    serie: int
    numero_inicial: int
    numero_final: int
    justificativa: str

    def focus_body(self) -> dict[str, str]:
        return {
            "cnpj": self.documento, "serie": str(self.serie),
            "numero_inicial": str(self.numero_inicial), "numero_final": str(self.numero_final),
            "justificativa": self.justificativa,
        }


def _invalid(field: str, mensagem: str) -> FocusError:
    return FocusError("requisicao_invalida", mensagem,
                      erros=[{"codigo": "requisicao_invalida", "campo": field,
                              "mensagem": mensagem}])


def _number(data: dict[str, Any], field: str, low: int, high: int) -> int:
    value = data[field]
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(str(value).strip())
    except ValueError:
        raise _invalid(field, f'Parâmetro "{field}" inválido') from None
    if not low <= number <= high:
        raise _invalid(field, f'Parâmetro "{field}" deve estar entre {low} e {high}')
    return number


def inutilizacao_validate(data: Any) -> InutilizacaoInput:
    """Focus's first validation of an inutilização (400 requisicao_invalida naming the field)."""
    if not isinstance(data, dict) or not data:
        raise FocusError("requisicao_invalida", "O corpo da requisição deve ser um objeto JSON")
    for name in REQUIRED:
        if data.get(name) in (None, ""):
            raise _invalid(name, f'Parâmetro "{name}" não informado')
    documento = normalize(str(data["cnpj"]))
    if not (is_valid_cnpj(documento) or (len(documento) == 11 and is_valid_cpf(documento))):
        raise _invalid("cnpj", "CNPJ inválido: cnpj")
    justificativa = str(data["justificativa"])
    if not 15 <= len(justificativa) <= 255:
        raise _invalid("justificativa",
                       'Parâmetro "justificativa" deve ter entre 15 e 255 caracteres')
    serie = _number(data, "serie", 0, 999)
    inicial = _number(data, "numero_inicial", 1, MAX_NUMERO)
    final = _number(data, "numero_final", 1, MAX_NUMERO)
    if final < inicial:
        raise _invalid("numero_final",
                       'Parâmetro "numero_final" deve ser maior ou igual a "numero_inicial"')
    return InutilizacaoInput(documento=documento, serie=serie, numero_inicial=inicial,
                             numero_final=final, justificativa=justificativa)


# --- what the facade shows -----------------------------------------------------------------------

def inutilizacao_file_path(inutilizacao: Inutilizacao, field: str) -> str:
    """Our path for a ``caminho_*`` of an inutilização (served by the archive)."""
    return f"/v2/arquivos/inutilizacoes/{inutilizacao.pk}/{field.removeprefix('caminho_')}"


def inutilizacao_render(inutilizacao: Inutilizacao, body: dict[str, Any]) -> dict[str, Any]:
    """A Focus inutilização body with our file paths (the rest exactly as Focus wrote it)."""
    return {
        key: inutilizacao_file_path(inutilizacao, key)
        if key.startswith("caminho_") and isinstance(value, str) and value.startswith("/")
        else value
        for key, value in body.items()
        if key != "gateway"
    }


def _publish(inutilizacao: Inutilizacao) -> None:
    publish(FiscalChange(
        type=ChangeType.INUTILIZACAO_REGISTERED, tenant=inutilizacao.tenant,
        empresa=inutilizacao.empresa,
        data=inutilizacao_render(inutilizacao, inutilizacao.upstream or {}),
        inutilizacao=inutilizacao,
    ))


def _answer_fields(body: dict[str, Any]) -> dict[str, Any]:
    protocolo = body.get("protocolo_sefaz") or body.get("protocolo") or body.get(
        "numero_protocolo") or ""
    return {
        "status_sefaz": str(body.get("status_sefaz") or "")[:10],
        "mensagem_sefaz": str(body.get("mensagem_sefaz") or ""),
        "protocolo": str(protocolo)[:30],
    }


def _lock_empresa(empresa_id: int) -> Empresa:
    """The one lock order of every write to an inutilização: the empresa row, then the row.

    Settling publishes, and the subscribers insert rows whose foreign key takes a KEY SHARE
    lock on the empresa. A path that updated the inutilização first and met the empresa only
    through those inserts, while the hook path locks the empresa first, deadlocked (issue 10).
    NO KEY UPDATE still serializes two writers of the same company's ranges, without blocking
    the company's note inserts (their KEY SHARE does not conflict with it); ``of=self`` keeps
    the joined tenant row unlocked. Must run inside the caller's transaction; taking it twice
    in one transaction is free.
    """
    return Empresa.objects.select_for_update(no_key=True, of=("self",)).select_related(
        "tenant").get(pk=empresa_id)


def _settle(inutilizacao: Inutilizacao, *, status: str, upstream: dict[str, Any],
            **fields: Any) -> bool:
    """Move a pending row to its result: a claim (only a pending row moves), publishing once.

    The tenant's answer and Focus's hook may race for the same row; whichever comes second
    finds it settled and does nothing. Runs inside the caller's transaction.
    """
    _lock_empresa(inutilizacao.empresa_id)
    moved = claim(Inutilizacao, inutilizacao.pk, where={"status": InutilizacaoStatus.PENDENTE},
                  status=status, upstream=upstream, in_doubt=False, updated_at=services.now(),
                  **fields)
    inutilizacao.refresh_from_db()
    if moved and status == InutilizacaoStatus.AUTORIZADO:
        _publish(inutilizacao)
    return moved


# --- asked by the tenant -------------------------------------------------------------------------

def inutilizacao_request(*, api_key: ApiKey, doc_type: str, data: Any) -> Answer:
    """POST /v2/<nfe|nfce>/inutilizacao: persisted first, then Focus inline; Focus's answer."""
    clean = inutilizacao_validate(data)
    tenant = api_key.tenant
    empresa = services.empresa_for_document(tenant=tenant, doc_type=doc_type,
                                            document=clean.documento)
    client = inline.focus_client_for(empresa=empresa, environment=api_key.environment)
    with transaction.atomic():  # committed before anything is sent
        row = Inutilizacao.objects.create(
            tenant=tenant, empresa=empresa, environment=api_key.environment,
            modelo=MODELOS[doc_type], serie=str(clean.serie),
            numero_inicial=clean.numero_inicial, numero_final=clean.numero_final,
            justificativa=clean.justificativa, source=Inutilizacao.Source.TENANT,
            status=InutilizacaoStatus.PENDENTE,
        )
    return inline.call(
        lambda: client.inutilizar(doc_type, clean.focus_body()),
        answered=lambda answer: _answered(row, answer),
        refused=lambda exc: _refused(row, exc),
        # Timeout, reset, 5xx, an unreadable answer: SEFAZ may have voided it.
        in_doubt=lambda exc: _in_doubt(row, exc),
        not_sent=lambda exc: _not_sent(row, exc),
    )


def _answered(row: Inutilizacao, answer: FocusAnswer) -> Answer:
    body = answer.data
    status = body.get("status")
    if status not in (InutilizacaoStatus.AUTORIZADO, InutilizacaoStatus.ERRO_AUTORIZACAO):
        # An answer without a result we know: keep it, and keep waiting for the hook.
        logger.warning("inutilizacao %s: Focus answered without a known status: %r", row.pk,
                       status)
        with transaction.atomic():
            _lock_empresa(row.empresa_id)
            Inutilizacao.objects.filter(pk=row.pk).update(upstream=body,
                                                          updated_at=services.now())
        row.refresh_from_db()
        return Answer(status_code=answer.status_code, body=inutilizacao_render(row, body))
    with transaction.atomic():
        _settle(row, status=status, upstream=body, **_answer_fields(body))
    return Answer(status_code=answer.status_code, body=inutilizacao_render(row, body))


def _refused(row: Inutilizacao, exc: FocusRejected) -> Answer:
    """Focus refused the request (its validation, the company): nothing was voided."""
    with transaction.atomic():
        _settle(row, status=InutilizacaoStatus.ERRO,
                upstream={"http_status": exc.status_code, **exc.body},
                mensagem_sefaz=exc.mensagem)
    return Answer(status_code=exc.status_code, body=exc.body)


def _not_sent(row: Inutilizacao, exc: FocusUpstreamError) -> Answer:
    with transaction.atomic():
        _settle(row, status=InutilizacaoStatus.ERRO,
                upstream={"gateway": {"sent": False, "error": f"{type(exc).__name__}: {exc}"}},
                mensagem_sefaz="não enviado à Focus NFe")
    inline.raise_not_sent(exc)


def _in_doubt(row: Inutilizacao, exc: FocusUpstreamError) -> Answer:
    """Sent, result unknown: the row stays pending for the hook or a repeat by the tenant."""
    logger.warning("inutilizacao %s in doubt: %s", row.pk, exc)
    note = {"sent": True, "error": f"{type(exc).__name__}: {exc}"[:500],
            "at": services.now().isoformat()}
    with transaction.atomic():
        _lock_empresa(row.empresa_id)
        claim(Inutilizacao, row.pk, where={"status": InutilizacaoStatus.PENDENTE},
              upstream={"gateway": note}, in_doubt=True, updated_at=services.now())
    row.refresh_from_db()
    if row.status != InutilizacaoStatus.PENDENTE:  # the hook was faster than our timeout
        return Answer(status_code=200, body=inutilizacao_render(row, row.upstream or {}))
    return Answer(status_code=202, body=in_doubt_body(
        "A inutilização foi enviada e o resultado da SEFAZ ainda não é conhecido. Consulte "
        f"GET /api/v1/inutilizacoes/{row.pk}; reenviar a mesma faixa é seguro.",
        id=row.pk, cnpj=row.empresa.documento, modelo=row.modelo, serie=row.serie,
        numero_inicial=str(row.numero_inicial), numero_final=str(row.numero_final),
    ))


# --- reported by Focus ---------------------------------------------------------------------------

def inutilizacao_apply_hook(*, hook: FocusHook, body: dict[str, Any]) -> Inutilizacao | None:
    """An ``inutilizacao`` hook delivery: one row per range (serie + numbers + modelo).

    It settles a pending row of the tenant's (the reconciliation of an ambiguous request) or
    records a range Focus voided on its own (source ``focus``). Deliveries are repeated by
    Focus; a range already authorized is left as it is, and published once.
    """
    try:
        serie = str(int(str(body.get("serie", "")).strip()))
        inicial = int(str(body.get("numero_inicial", "")).strip())
        final = int(str(body.get("numero_final", "")).strip())
    except ValueError:
        logger.warning("inutilizacao hook %s without a readable range: %r", hook.pk, body)
        return None
    modelo = str(body.get("modelo") or "55")
    status = str(body.get("status") or "")
    with transaction.atomic():
        # One delivery at a time per company: two copies of a hook cannot both create a row.
        # The empresa first, as on the request path (see _lock_empresa).
        empresa = _lock_empresa(hook.empresa_id)
        FocusHook.objects.filter(pk=hook.pk).update(last_received_at=services.now())
        documento = normalize(str(body.get("cnpj") or ""))
        if documento and documento != empresa.documento:
            # The hook is registered for this company; trust that, but leave a trace.
            logger.warning("inutilizacao hook %s names cnpj %s, registered for empresa %s",
                           hook.pk, documento, empresa.pk)
        same = Inutilizacao.objects.select_related("tenant", "empresa").filter(
            empresa=empresa, environment=hook.environment, modelo=modelo, serie=serie,
            numero_inicial=inicial, numero_final=final,
        )
        done = same.filter(status=InutilizacaoStatus.AUTORIZADO).order_by("id").first()
        if done is not None:
            return done
        pending = same.filter(status=InutilizacaoStatus.PENDENTE).order_by("-id").first()
        if status not in (InutilizacaoStatus.AUTORIZADO, InutilizacaoStatus.ERRO_AUTORIZACAO):
            logger.warning("inutilizacao hook %s with status %r ignored", hook.pk, status)
            return pending
        if pending is not None:
            _settle(pending, status=status, upstream=body, **_answer_fields(body))
            return pending
        if status != InutilizacaoStatus.AUTORIZADO:
            return None  # a refusal of nothing we asked for: no range was voided
        row = Inutilizacao.objects.create(
            tenant=empresa.tenant, empresa=empresa, environment=hook.environment,
            modelo=modelo, serie=serie, numero_inicial=inicial, numero_final=final,
            justificativa=str(body.get("justificativa") or ""),
            source=Inutilizacao.Source.FOCUS, status=status, upstream=body,
            **_answer_fields(body),
        )
        _publish(row)
    return row


# --- selectors -----------------------------------------------------------------------------------

def inutilizacao_list(
    *,
    tenant: Tenant,
    environment: str,
    empresa_id: int | None = None,
    status: str | None = None,
    source: str | None = None,
    modelo: str | None = None,
    environment_filter: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> QuerySet[Inutilizacao]:
    qs = Inutilizacao.objects.filter(tenant=tenant, environment=environment).select_related(
        "empresa"
    )
    if empresa_id:
        qs = qs.filter(empresa_id=empresa_id)
    if status:
        qs = qs.filter(status=status)
    if source:
        qs = qs.filter(source=source)
    if modelo:
        qs = qs.filter(modelo=modelo)
    if environment_filter:
        qs = qs.filter(environment=environment_filter)
    if created_from:
        qs = qs.filter(created_at__gte=created_from)
    if created_to:
        qs = qs.filter(created_at__lt=created_to)
    return qs


def inutilizacao_get(*, tenant: Tenant, environment: str, pk: int) -> Inutilizacao:
    # Another tenant's row (or the other environment's) is a 404: its existence is not revealed.
    return get_object_or_404(Inutilizacao.objects.select_related("empresa"), tenant=tenant,
                             environment=environment, pk=pk)


# --- Focus's listing: GET /v2/<nfe|nfce>/inutilizacoes -----------------------------------------
# Reference: FocusNFe/api-doc _nfe.md / _nfce.md "Consulta de XMLs de numerações inutilizadas":
# cnpj or cpf (one required), data_recebimento_inicial / _final, numero_inicial / _final; the
# answer is a bare array of inutilização bodies. Answered from our own records: every range the
# tenant voided through us or Focus reported by hook, in the key's environment.

LISTING_FIELDS = ("status_sefaz", "mensagem_sefaz", "cnpj", "modelo", "serie", "numero_inicial",
                  "numero_final", "status", "caminho_xml", "protocolo_sefaz")
_NO_DOCUMENT = 'Parâmetro "cnpj" ou "cpf" inválidos ou não informados'


def _listing_empresa(*, tenant: Tenant, params: Any) -> Empresa:
    """The tenant's company named by ``cnpj`` or ``cpf`` (Focus's 400 when neither is valid)."""
    cnpj, cpf = normalize(params.get("cnpj") or ""), normalize(params.get("cpf") or "")
    if cnpj and is_valid_cnpj(cnpj):
        lookup = {"cnpj": cnpj}
    elif cpf and not cnpj and is_valid_cpf(cpf):
        lookup = {"cpf": cpf}
    else:
        raise FocusError("requisicao_invalida", _NO_DOCUMENT)
    empresa = Empresa.objects.defer("token_homologacao", "token_producao").filter(
        tenant=tenant, **lookup).first()
    if empresa is None:
        # Another tenant's company, or none: Focus's answer for a company the token cannot use.
        raise FocusError("permissao_negada", "CNPJ do emitente não autorizado.", status_code=403)
    return empresa


def _day_bound(params: Any, name: str, *, end: bool) -> datetime | None:
    """A ``data_recebimento_*`` bound: a date (whole local day, SEFAZ's time zone) or an ISO
    date-time. ``end``: the first instant after the bound."""
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    moment = day = None
    try:
        # A bare date first: Python's fromisoformat would also read it as midnight.
        day = parse_date(raw)
        moment = None if day else parse_datetime(raw)
    except ValueError:
        pass
    if moment is not None:
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
    if day is None:
        raise _invalid(name, f'Parâmetro "{name}" inválido: informe uma data (AAAA-MM-DD)')
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start + timedelta(days=1) if end else start


def _number_filter(params: Any, name: str) -> int | None:
    if (params.get(name) or "").strip() == "":
        return None
    return _number(params, name, 1, MAX_NUMERO)


def inutilizacao_listing(*, api_key: ApiKey, doc_type: str, params: Any) -> list[dict[str, Any]]:
    """The voided ranges of one of the tenant's companies, as Focus lists them.

    Only ranges SEFAZ voided (status ``autorizado``): a refused or unsent request voided
    nothing, and Focus's listing is of "numerações inutilizadas". ``numero_inicial`` /
    ``numero_final`` select the ranges that reach into [numero_inicial, numero_final] (a range
    of one number is found by that number). One query for the company, one for the rows.
    """
    empresa = _listing_empresa(tenant=api_key.tenant, params=params)
    desde = _day_bound(params, "data_recebimento_inicial", end=False)
    ate = _day_bound(params, "data_recebimento_final", end=True)
    inicial = _number_filter(params, "numero_inicial")
    final = _number_filter(params, "numero_final")
    qs = Inutilizacao.objects.filter(
        tenant=api_key.tenant, environment=api_key.environment, empresa=empresa,
        modelo=MODELOS[doc_type], status=InutilizacaoStatus.AUTORIZADO,
    )
    if desde is not None:
        qs = qs.filter(created_at__gte=desde)
    if ate is not None:
        qs = qs.filter(created_at__lt=ate)
    if inicial is not None:
        qs = qs.filter(numero_final__gte=inicial)
    if final is not None:
        qs = qs.filter(numero_inicial__lte=final)
    return [_listing_item(row, empresa) for row in qs.order_by("created_at", "id")]


def _listing_item(row: Inutilizacao, empresa: Empresa) -> dict[str, Any]:
    upstream = row.upstream or {}
    has_xml = isinstance(upstream.get("caminho_xml"), str) and upstream["caminho_xml"].startswith(
        "/")
    item = {
        "status_sefaz": row.status_sefaz, "mensagem_sefaz": row.mensagem_sefaz,
        "cnpj": empresa.documento, "modelo": row.modelo, "serie": row.serie,
        "numero_inicial": str(row.numero_inicial), "numero_final": str(row.numero_final),
        "status": row.status,
        # Our archive's path (storage serves it), never Focus's.
        "caminho_xml": inutilizacao_file_path(row, "caminho_xml") if has_xml else None,
        "protocolo_sefaz": row.protocolo,
    }
    return {key: item[key] for key in LISTING_FIELDS}
