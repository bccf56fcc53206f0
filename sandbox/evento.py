"""The generic events endpoint: POST /v2/nfe/REF/evento with ``tipo_evento``.

Reference: FocusNFe/api-doc _nfe.md "Eventos" (synchronous; 200 with ``status`` autorizado,
status_sefaz 135, ``caminho_xml_evento_<tipo>`` and ``numero_evento_<tipo>``; 200
erro_autorizacao with ``evento`` = ``evento_<tipo>`` when SEFAZ refuses; 400
requisicao_invalida 'Parâmetro "tipo_evento" não informado'; 400 nfe_nao_autorizada "Nota
fiscal não autorizada."; 422 already_processed "A nota fiscal foi cancelada").

The document names one ``tipo_evento`` so far, ``prorrogacao_suspensao_icms`` (SEFAZ event
111500, "Pedido de Prorrogação"), with optional ``itens_pedido``. Focus's document gives no
answer for an unknown ``tipo_evento``; the sandbox refuses it as Focus refuses a parameter it
cannot use (400 requisicao_invalida naming it). A new type is one entry in TIPOS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox import emission, events, render
from sandbox.wire import FocusError, Request, Response, json_response, missing

if TYPE_CHECKING:
    from sandbox.app import App

# tipo_evento -> (SEFAZ tpEvento, descEvento, file name suffix of its XML).
TIPOS: dict[str, tuple[str, str, str]] = {
    "prorrogacao_suspensao_icms": ("111500", "Pedido de Prorrogacao", "pro-icms"),
}


def _itens(data: dict[str, Any], doc_items: int) -> list[dict[str, Any]]:
    """``itens_pedido``: optional; each item names a line of the note and a quantity."""
    itens = data.get("itens_pedido")
    if itens is None:
        return []
    bad = FocusError(400, "requisicao_invalida", 'Parâmetro "itens_pedido" inválido')
    if not isinstance(itens, list) or not itens:
        raise bad
    clean = []
    for item in itens:
        if not isinstance(item, dict):
            raise bad
        numero, quantidade = item.get("numero_item"), item.get("quantidade_item")
        if isinstance(numero, bool) or not isinstance(numero, int) or not 1 <= numero <= doc_items:
            raise bad
        if isinstance(quantidade, bool) or not isinstance(quantidade, int | float):
            raise bad
        if quantidade <= 0:
            raise bad
        clean.append({"numero_item": numero, "quantidade_item": float(quantidade)})
    return clean


def register(app: App, req: Request, ref: str) -> Response:
    store = app.store
    with store.lock:
        doc = emission.find_document(app, req.principal, "nfe", ref)
        data = req.json_object()
        tipo = data.get("tipo_evento")
        if tipo in (None, ""):
            raise missing("tipo_evento")
        if doc.status == "cancelado":
            raise FocusError(422, "already_processed", "A nota fiscal foi cancelada")
        if doc.status != "autorizado":
            raise FocusError(400, "nfe_nao_autorizada", "Nota fiscal não autorizada.")
        if tipo not in TIPOS:
            raise FocusError(
                400, "requisicao_invalida", f'Parâmetro "tipo_evento" inválido: {str(tipo)[:60]}'
            )
        itens = _itens(data, len(doc.payload.get("items") or []))
        company = events._company(app, doc)
        error = events.sefaz_error(app, company, None)
        if error:
            return json_response(
                200,
                {
                    "evento": f"evento_{tipo}",
                    "status_sefaz": error[0],
                    "mensagem_sefaz": error[1],
                    "status": "erro_autorizacao",
                },
            )
        codigo, descricao, suffix = TIPOS[tipo]
        numero = sum(1 for e in doc.eventos if e["tipo"] == tipo) + 1
        doc.eventos.append(
            {
                "tipo": tipo,
                "codigo": codigo,
                "descricao": descricao,
                "numero": numero,
                "itens": itens,
                "at": store.clock.now(),
                "protocolo": events.protocol(app, company),
            }
        )
        path = render.event_path(doc, company, f"{suffix}-{numero:02d}")
        emission.register(store, path, "evento_xml", doc, n=numero, tipo=tipo)
        return json_response(
            200,
            {
                **events.EVENT_OK,
                "status": "autorizado",
                f"caminho_xml_evento_{tipo}": path,
                f"numero_evento_{tipo}": numero,
            },
        )
