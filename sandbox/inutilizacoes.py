"""The listing of voided number ranges: GET /v2/nfe/inutilizacoes and /v2/nfce/inutilizacoes.

Reference: FocusNFe/api-doc _nfe.md / _nfce.md "Consulta de XMLs de numerações inutilizadas":
``cnpj`` or ``cpf`` (one of them required, else 400 requisicao_invalida), optional
``data_recebimento_inicial`` / ``data_recebimento_final`` (dates) and ``numero_inicial`` /
``numero_final``; the answer is a bare array of the bodies the inutilização answered. The ranges
are the ones this token voided (POST .../inutilizacao, sandbox/events.py).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sandbox import emission
from sandbox.chave import only_id_chars
from sandbox.clock import BRT
from sandbox.state import MODELO
from sandbox.wire import FocusError, Request, Response, json_response

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
