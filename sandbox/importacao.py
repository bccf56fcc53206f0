"""Importação of an authorized NFe's XML, and the DANFe preview of a note not yet emitted.

Reference: focus-nfe-api-v2.txt NFe "Importação", "Pré-visualização de DANFe".
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from sandbox import emission, render, rules
from sandbox.chave import chave_is_valid, only_id_chars
from sandbox.files import make_pdf
from sandbox.state import Document
from sandbox.wire import FocusError, Request, Response, json_response

if TYPE_CHECKING:
    from sandbox.app import App


_XML_ERROR = FocusError(
    422,
    "erro_validacao_xml",
    "O XML não pode ser interpretado, verifique seu conteúdo e tente novamente",
)


def _parse_nfe_xml(raw: bytes) -> dict[str, Any]:
    try:
        # The XML comes from the sandbox's own client on loopback; expat does not resolve
        # external entities, and Python's expat caps entity expansion.
        root = ET.fromstring(raw)  # noqa: S314
    except ET.ParseError as exc:
        raise _XML_ERROR from exc

    def find(tag: str) -> ET.Element | None:
        return next((el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == tag), None)

    def text(parent: ET.Element | None, tag: str) -> str | None:
        if parent is None:
            return None
        el = next((c for c in parent.iter() if c.tag.rsplit("}", 1)[-1] == tag), None)
        return el.text.strip() if el is not None and el.text else None

    inf = find("infNFe")
    if inf is None:
        raise _XML_ERROR
    chave = re.sub(r"^NFe", "", inf.get("Id", ""))
    if not chave_is_valid(chave):
        raise _XML_ERROR
    emit = find("emit")
    ide = find("ide")
    prot = find("infProt")
    return {
        "chave": chave,
        "emitente": text(emit, "CNPJ") or text(emit, "CPF") or "",
        "numero": int(text(ide, "nNF") or chave[25:34]),
        "serie": int(text(ide, "serie") or chave[22:25]),
        "protocolo": text(prot, "nProt"),
        "status_sefaz": text(prot, "cStat") or "100",
        "mensagem_sefaz": text(prot, "xMotivo") or rules.SEFAZ_MESSAGES["100"],
    }


def importacao(app: App, req: Request) -> Response:
    store = app.store
    company, env = emission.company_for(app, req.principal)
    parsed = _parse_nfe_xml(req.body)
    if only_id_chars(parsed["emitente"]) != company.document:
        raise FocusError(403, "permissao_negada", "CNPJ do emitente não autorizado.")
    if not company.enabled("nfe", env):
        raise FocusError(
            400, "empresa_nao_habilitada", "Emitente ainda não habilitado para emissão de NFe"
        )
    ref = rules.check_ref(req.query.get("ref") or f"NFe{parsed['chave']}", doc_type="nfe")
    with store.lock:
        key = (req.principal.token, "nfe", ref)  # type: ignore[union-attr]
        emission.check_ref_free(store, key)
        now = store.clock.now()
        doc = Document(
            token=key[0],
            env=env,
            doc_type="nfe",
            ref=ref,
            company_id=company.id,
            payload={},
            status="autorizado",
            created_at=now,
            numero=parsed["numero"],
            serie=parsed["serie"],
            chave=parsed["chave"],
            tp_emis=parsed["chave"][34],
            protocolo=parsed["protocolo"],
            authorized_at=now,
            status_sefaz=parsed["status_sefaz"],
            mensagem_sefaz=parsed["mensagem_sefaz"],
            outcome={
                "kind": "autorizar",
                "status_sefaz": parsed["status_sefaz"],
                "mensagem_sefaz": parsed["mensagem_sefaz"],
            },
            imported_xml=req.body.decode("utf-8", errors="replace"),
        )
        store.documents[key] = doc
        # An imported note was issued elsewhere: its number is taken, but it does not count as
        # a document this sandbox created.
        store.take_number(company, env, "55", doc.serie or 1, doc.numero or 0)
        paths = render.nfe_paths(doc, company)
        emission.register(store, paths["xml"], "nfe_xml", doc)
        emission.register(store, paths["danfe"], "danfe_pdf", doc)
        return json_response(201, render.consulta(store, doc))


def danfe_preview(app: App, req: Request) -> Response:
    company, _env = emission.company_for(app, req.principal)
    text = req.body.lstrip()
    if text.startswith(b"<"):
        parsed = _parse_nfe_xml(req.body)
        lines = [
            "DANFE - PRE-VISUALIZACAO - SEM VALOR FISCAL",
            f"Chave de acesso: {parsed['chave']}",
            f"Numero: {parsed['numero']}   Serie: {parsed['serie']}",
        ]
    else:
        payload = req.json_object()
        rules.validate_nfe(payload, doc_type="nfe")
        emission.check_emitter("nfe", payload, company, _env)
        lines = [
            "DANFE - PRE-VISUALIZACAO - SEM VALOR FISCAL",
            f"Emitente: {payload.get('nome_emitente', '')} - {company.document}",
            f"Destinatario: {payload.get('nome_destinatario', '')}",
            f"Natureza da operacao: {payload.get('natureza_operacao', '')}",
            "Itens:",
        ]
        for index, item in enumerate(rules.items_of(payload), start=1):
            lines.append(f"  {index}. {item.get('descricao', '')} {item.get('valor_bruto', '')}")
    return Response(status=200, body=make_pdf(lines), content_type="application/pdf")
