"""Inutilização: voiding a range of numbers (POST .../inutilizacao) and listing the voided ranges
(GET /v2/nfe/inutilizacoes and /v2/nfce/inutilizacoes).

Reference: focus-nfe-api-v2.txt NFe / NFCe "Inutilização". Synchronous: 200 with SEFAZ's
result in the body, or a 4xx in Focus's error shape.

Reference: FocusNFe/api-doc _nfe.md / _nfce.md "Consulta de XMLs de numerações inutilizadas":
``cnpj`` or ``cpf`` (one of them required, else 400 requisicao_invalida), optional
``data_recebimento_inicial`` / ``data_recebimento_final`` (dates) and ``numero_inicial`` /
``numero_final``; the answer is a bare array of the bodies the inutilização answered. The ranges
are the ones this token voided (``inutilizacao`` below).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sandbox import emission, render, rules
from sandbox.chave import UF_CODES, only_id_chars
from sandbox.clock import BRT, aaaamm, year
from sandbox.events import protocol, sefaz_error
from sandbox.state import MODELO, PRODUCAO, new_id
from sandbox.wire import FocusError, Request, Response, json_response, missing

if TYPE_CHECKING:
    from sandbox.app import App

_NO_DOCUMENT = 'Parâmetro "cnpj" ou "cpf" inválidos ou não informados'


def _day(req: Request, name: str, *, end: bool) -> float | None:
    raw = (req.query.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw[:10])
    except ValueError:
        raise FocusError(400, "requisicao_invalida", f'Parâmetro "{name}" inválido') from None
    start = datetime(day.year, day.month, day.day, tzinfo=BRT)
    return (start + timedelta(days=1) if end else start).timestamp()


def _number(req: Request, name: str) -> int | None:
    raw = (req.query.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise FocusError(400, "requisicao_invalida", f'Parâmetro "{name}" inválido')
    return int(raw)


def listing(app: App, req: Request, doc_type: str) -> Response:
    company, _env = emission.company_for(app, req.principal)
    documento = only_id_chars(req.query.get("cnpj") or req.query.get("cpf") or "")
    if not documento:
        raise FocusError(400, "requisicao_invalida", _NO_DOCUMENT)
    if documento != company.document:
        raise FocusError(403, "permissao_negada", "CNPJ do emitente não autorizado.")
    desde = _day(req, "data_recebimento_inicial", end=False)
    ate = _day(req, "data_recebimento_final", end=True)
    inicial = _number(req, "numero_inicial")
    final = _number(req, "numero_final")
    token = req.principal.token  # type: ignore[union-attr]
    with app.store.lock:
        rows = [
            i for i in app.store.inutilizacoes
            if i["token"] == token and i["modelo"] == MODELO[doc_type]
            and i["status"] == "autorizado"
            and (desde is None or i["at"] >= desde) and (ate is None or i["at"] < ate)
            # A range is listed when it reaches into [numero_inicial, numero_final].
            and (inicial is None or i["fim"] >= inicial)
            and (final is None or i["inicio"] <= final)
        ]
        return json_response(200, [_item(i) for i in rows])


def _item(inu: dict[str, Any]) -> dict[str, Any]:
    return {
        "status_sefaz": inu["status_sefaz"],
        "mensagem_sefaz": inu["mensagem_sefaz"],
        "cnpj": inu["cnpj"],
        "modelo": inu["modelo"],
        "serie": str(inu["serie"]),
        "numero_inicial": str(inu["inicio"]),
        "numero_final": str(inu["fim"]),
        "status": inu["status"],
        "caminho_xml": inu["path"],
        "protocolo_sefaz": inu["protocolo"],
    }


def inutilizacao(app: App, req: Request, doc_type: str) -> Response:
    store = app.store
    company, env = emission.company_for(app, req.principal)
    data = req.json_object()
    for name in ("cnpj", "serie", "numero_inicial", "numero_final", "justificativa"):
        if data.get(name) in (None, ""):
            raise missing(name)
    justificativa = rules.check_justificativa(data["justificativa"])
    if only_id_chars(data["cnpj"]) != company.document:
        raise FocusError(403, "permissao_negada", "CNPJ do emitente não autorizado.")
    if not company.enabled(doc_type, env):
        raise FocusError(
            400,
            "empresa_nao_habilitada",
            "Emitente ainda não habilitado para emissão deste documento",
        )
    try:
        serie = int(data["serie"])
        inicio, fim = int(data["numero_inicial"]), int(data["numero_final"])
    except (TypeError, ValueError) as exc:
        raise FocusError(
            400, "requisicao_invalida", "Não existe série com os critérios informados"
        ) from exc
    if not 0 <= serie <= 999 or inicio < 1 or fim < inicio or fim > 999_999_999:
        raise FocusError(400, "requisicao_invalida", "Não existe série com os critérios informados")
    modelo = MODELO[doc_type]
    with store.lock:
        base = {"serie": str(serie), "numero_inicial": str(inicio), "numero_final": str(fim)}
        key = store.series_key(company, env, modelo, serie)
        error = sefaz_error(app, company, justificativa)
        if error is None and any(inicio <= n <= fim for n in store.used_numbers.get(key, ())):
            error = ("241", "Um numero da faixa ja foi utilizado")
        if error is None and any(
            i["series_key"] == key
            and i["status"] == "autorizado"
            and i["inicio"] <= fim
            and inicio <= i["fim"]
            for i in store.inutilizacoes
        ):
            error = ("256", "Uma NF-e da faixa ja esta inutilizada na Base de dados da SEFAZ")
        if error:
            return json_response(
                200,
                {
                    "status_sefaz": error[0],
                    "mensagem_sefaz": error[1],
                    **base,
                    "status": "erro_autorizacao",
                },
            )
        now = store.clock.now()
        xml_id = (
            f"{year(now) % 100:02d}{company.document.rjust(14, '0')}{modelo}"
            f"{serie:03d}{inicio:09d}{fim:09d}"
        )
        month = aaaamm(now)
        path = f"{render.arquivos(env)}/{company.document}/{month}/XMLs/{xml_id}-inu.xml"
        inu = {
            "id": new_id(12),
            "series_key": key,
            "inicio": inicio,
            "fim": fim,
            "status": "autorizado",
            "status_sefaz": "102",
            "mensagem_sefaz": "Inutilizacao de numero homologado",
            "protocolo": protocol(app, company),
            "xml_id": xml_id,
            "cnpj": company.document,
            "modelo": modelo,
            "serie": serie,
            "justificativa": justificativa,
            "tp_amb": "1" if env == PRODUCAO else "2",
            "cuf": UF_CODES.get(company.uf, "35"),
            "ano": f"{year(now) % 100:02d}",
            "token": req.principal.token,  # type: ignore[union-attr]
            "path": path,
            "at": now,
        }
        store.inutilizacoes.append(inu)
        store.files[path] = {"kind": "inu_xml", "inu": inu["id"]}
        body = {
            "status_sefaz": "102",
            "mensagem_sefaz": inu["mensagem_sefaz"],
            **base,
            "modelo": modelo,
            "cnpj": company.document,
            "status": "autorizado",
            "caminho_xml": path,
            "protocolo_sefaz": inu["protocolo"],
        }
        app.hooks.notify(
            doc_token=inu["token"],
            company=company,
            event="inutilizacao",
            payload=body,
            ref=None,
            doc_type=doc_type,
        )
        return json_response(200, body)
