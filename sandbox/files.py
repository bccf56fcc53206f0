"""The files behind every `caminho_*`: XML, DANFe/CCe/DANFSe PDFs and DANFCe HTML.

Generated on request from the document as it is now, so a cancelled note's DANFe says so. The
XML follows the real layouts' element names (nfeProc/protNFe, procEventoNFe, procInutNFe,
ABRASF CompNfse, NFS-e Nacional) closely enough to carry the chave, número, protocolo and the
submitted items, without pretending to be signed. The PDF writer is a minimal, valid PDF 1.4:
one Helvetica font, text lines, a correct xref table.
"""

from __future__ import annotations

import dataclasses
import html
import xml.etree.ElementTree as ET
from typing import Any

from sandbox import ibscbs
from sandbox.chave import UF_CODES
from sandbox.clock import iso
from sandbox.render import CONDICOES_USO_CCE, qrcode_url
from sandbox.rules import HOMOLOGACAO_NOME, items_of
from sandbox.state import PRODUCAO, Company, Document, Store

NFE_NS = "http://www.portalfiscal.inf.br/nfe"
NFSE_NS = "http://www.abrasf.org.br/nfse.xsd"
NFSEN_NS = "http://www.sped.fazenda.gov.br/nfse"

XML = "application/xml; charset=utf-8"
PDF = "application/pdf"
HTML = "text/html; charset=utf-8"


def render_file(store: Store, entry: dict[str, Any]) -> tuple[str, bytes] | None:
    kind = entry["kind"]
    if kind == "inu_xml":
        inu = next((i for i in store.inutilizacoes if i["id"] == entry["inu"]), None)
        return (XML, _xml(inutilizacao_xml(inu))) if inu else None
    doc = store.documents.get(tuple(entry["doc"]))  # type: ignore[arg-type]
    if doc is None:
        return None
    company = store.companies.get(doc.company_id) or Company(
        id=doc.company_id, data={}, token_homologacao="", token_producao="", created_at=0.0
    )
    if "attempt" in entry:
        doc = attempt_document(doc, int(entry["attempt"]))
        if doc is None:
            return None
    n = int(entry.get("n", 0))
    if kind == "nfe_xml":
        if doc.imported_xml:
            return XML, doc.imported_xml.encode("utf-8")
        return XML, _xml(nfe_xml(doc, company))
    if kind == "danfe_pdf":
        return PDF, make_pdf(danfe_lines(doc, company))
    if kind == "danfce_html":
        return HTML, danfce_html(doc, company).encode("utf-8")
    if kind == "can_xml":
        return XML, _xml(
            event_xml(
                doc,
                company,
                "110111",
                "Cancelamento",
                1,
                {"nProt": doc.protocolo, "xJust": (doc.cancel or {}).get("justificativa", "")},
                (doc.cancel or {}).get("protocolo"),
            )
        )
    if kind in ("cce_xml", "cce_pdf"):
        cce = next((c for c in doc.cces if c["numero"] == n), None)
        if cce is None:
            return None
        if kind == "cce_pdf":
            return PDF, make_pdf(cce_lines(doc, company, cce))
        return XML, _xml(
            event_xml(
                doc,
                company,
                "110110",
                "Carta de Correcao",
                n,
                {"xCorrecao": cce["correcao"], "xCondUso": CONDICOES_USO_CCE},
                cce["protocolo"],
            )
        )
    if kind in ("ato_xml", "ie_xml", "iecan_xml"):
        source = {
            "ato_xml": doc.atores,
            "ie_xml": doc.insucessos,
            "iecan_xml": doc.insucesso_cancelamentos,
        }[kind]
        event = next((e for e in source if e["numero"] == n), None)
        if event is None:
            return None
        tipo, descricao = {
            "ato_xml": ("110150", "Ator interessado na NF-e"),
            "ie_xml": ("110192", "Insucesso na Entrega da NF-e"),
            "iecan_xml": ("110193", "Cancelamento Insucesso na Entrega da NF-e"),
        }[kind]
        detail = {k: str(v) for k, v in event.get("dados", {}).items() if v is not None}
        return XML, _xml(event_xml(doc, company, tipo, descricao, n, detail, event["protocolo"]))
    if kind == "evento_xml":
        ev = next((e for e in doc.eventos if e["tipo"] == entry.get("tipo") and e["numero"] == n),
                  None)
        if ev is None:
            return None
        root = event_xml(doc, company, ev["codigo"], ev["descricao"], n,
                         {"nProt": doc.protocolo}, ev["protocolo"])
        det = root.find("evento/infEvento/detEvento")
        for item in ev["itens"] if det is not None else ():
            pedido = _sub(det, "itemPedido", numItem=str(item["numero_item"]))
            _sub(pedido, "qtdeItem", f"{item['quantidade_item']:.4f}")
        return XML, _xml(root)
    if kind == "nfse_xml":
        return XML, _xml(nfse_xml(doc, company))
    if kind == "nfse_can_xml":
        return XML, _xml(nfse_cancel_xml(doc, company))
    if kind == "danfse_pdf":
        return PDF, make_pdf(danfse_lines(doc, company))
    if kind == "nfse_html":
        return HTML, nfse_html(doc, company).encode("utf-8")
    return None


def attempt_document(doc: Document, index: int) -> Document | None:
    """The earlier, cancelled attempt of a contingency/timeout emission, as a document."""
    attempts = ([doc.tentativa_anterior] if doc.tentativa_anterior else []) + list(
        doc.tentativas_anteriores or []
    )
    if index >= len(attempts):
        return None
    a = attempts[index]
    cancel = {
        "justificativa": "Cancelamento de tentativa anterior autorizada em duplicidade",
        "at": a["_at"],
        "protocolo": a["_protocolo_cancelamento"],
        "status": "cancelado",
    }
    return dataclasses.replace(
        doc,
        numero=int(a["numero"]),
        serie=int(a["serie"]),
        chave=a["chave_nfe"][3:],
        tp_emis=a["_tp_emis"],
        protocolo=a["_protocolo"],
        status="cancelado",
        cancel=cancel,
        cces=[],
        tentativa_anterior=None,
        tentativas_anteriores=None,
        contingencia_offline=None,
        authorized_at=a["_at"],
        imported_xml=None,
    )


# -- XML -----------------------------------------------------------------------------------


def _xml(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _sub(parent: ET.Element, tag: str, text: Any = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = str(text)
    return el


def _doc_tag(document: str) -> str:
    return "CPF" if len(document) == 11 else "CNPJ"


def _tp_amb(doc: Document) -> str:
    return "1" if doc.env == PRODUCAO else "2"


def nfe_xml(doc: Document, company: Company) -> ET.Element:
    p = doc.payload
    root = ET.Element("nfeProc", {"xmlns": NFE_NS, "versao": "4.00"})
    inf = _sub(_sub(root, "NFe"), "infNFe", Id=f"NFe{doc.chave}", versao="4.00")
    ide = _sub(inf, "ide")
    chave = doc.chave or ""
    _sub(ide, "cUF", UF_CODES.get(company.uf, "35"))
    _sub(ide, "cNF", chave[35:43])
    _sub(ide, "natOp", p.get("natureza_operacao") or "VENDA AO CONSUMIDOR")
    _sub(ide, "mod", "55" if doc.doc_type == "nfe" else "65")
    _sub(ide, "serie", doc.serie)
    _sub(ide, "nNF", doc.numero)
    _sub(ide, "dhEmi", p.get("data_emissao") or iso(doc.created_at))
    _sub(ide, "tpNF", p.get("tipo_documento", 1))
    _sub(ide, "tpEmis", doc.tp_emis)
    _sub(ide, "cDV", chave[-1:])
    _sub(ide, "tpAmb", _tp_amb(doc))
    _sub(ide, "finNFe", p.get("finalidade_emissao", 1))
    ibscbs.write_ide(ide, p)
    emit = _sub(inf, "emit")
    _sub(emit, _doc_tag(company.document), company.document)
    _sub(emit, "xNome", p.get("nome_emitente") or company.data.get("nome", ""))
    _sub(_sub(emit, "enderEmit"), "UF", company.uf)
    _sub(emit, "CRT", company.regime)
    dest_doc = p.get("cnpj_destinatario") or p.get("cpf_destinatario")
    if dest_doc or p.get("nome_destinatario"):
        dest = _sub(inf, "dest")
        if dest_doc:
            _sub(dest, "CNPJ" if p.get("cnpj_destinatario") else "CPF", dest_doc)
        if p.get("nome_destinatario"):
            _sub(dest, "xNome", p["nome_destinatario"])
    total = 0.0
    for index, item in enumerate(items_of(p), start=1):
        if not isinstance(item, dict):
            continue
        det = _sub(inf, "det", nItem=str(item.get("numero_item") or index))
        prod = _sub(det, "prod")
        _sub(prod, "cProd", item.get("codigo_produto", ""))
        _sub(prod, "xProd", item.get("descricao", ""))
        _sub(prod, "NCM", item.get("codigo_ncm", ""))
        _sub(prod, "CFOP", item.get("cfop", ""))
        _sub(prod, "uCom", item.get("unidade_comercial", "UN"))
        _sub(prod, "qCom", item.get("quantidade_comercial", ""))
        _sub(prod, "vUnCom", item.get("valor_unitario_comercial", ""))
        value = _item_total(item)
        total += value
        _sub(prod, "vProd", f"{value:.2f}")
        imposto = _sub(det, "imposto")
        icms = _sub(imposto, "ICMS")
        _sub(icms, "orig", item.get("icms_origem", 0))
        cst = str(item.get("icms_situacao_tributaria", ""))
        _sub(icms, "CSOSN" if len(cst) == 3 else "CST", cst)
        ibscbs.write_item(imposto, item, ibscbs.n_item(item, index))
    total_group = _sub(inf, "total")
    tot = _sub(total_group, "ICMSTot")
    _sub(tot, "vProd", f"{total:.2f}")
    _sub(tot, "vNF", p.get("valor_total") or f"{total:.2f}")
    ibscbs.write_totals(total_group, p, items_of(p), doc_type=doc.doc_type)
    if p.get("informacoes_adicionais_contribuinte"):
        _sub(_sub(inf, "infAdic"), "infCpl", p["informacoes_adicionais_contribuinte"])
    if doc.protocolo and doc.authorized_at:
        prot = _sub(_sub(root, "protNFe", versao="4.00"), "infProt")
        _sub(prot, "tpAmb", _tp_amb(doc))
        _sub(prot, "verAplic", "SANDBOX-1.0")
        _sub(prot, "chNFe", doc.chave)
        _sub(prot, "dhRecbto", iso(doc.authorized_at))
        _sub(prot, "nProt", doc.protocolo)
        _sub(prot, "cStat", doc.outcome.get("status_sefaz", "100"))
        _sub(prot, "xMotivo", doc.outcome.get("mensagem_sefaz", ""))
    return root


def _item_total(item: dict[str, Any]) -> float:
    try:
        if item.get("valor_bruto") not in (None, ""):
            return float(item["valor_bruto"])
        return float(item.get("quantidade_comercial") or 0) * float(
            item.get("valor_unitario_comercial") or 0
        )
    except (TypeError, ValueError):
        return 0.0


def event_xml(
    doc: Document,
    company: Company,
    tipo: str,
    descricao: str,
    seq: int,
    detail: dict[str, Any],
    protocolo: str | None,
) -> ET.Element:
    root = ET.Element("procEventoNFe", {"xmlns": NFE_NS, "versao": "1.00"})
    inf = _sub(_sub(root, "evento", versao="1.00"), "infEvento", Id=f"ID{tipo}{doc.chave}{seq:02d}")
    _sub(inf, "cOrgao", UF_CODES.get(company.uf, "91"))
    _sub(inf, "tpAmb", _tp_amb(doc))
    _sub(inf, _doc_tag(company.document), company.document)
    _sub(inf, "chNFe", doc.chave)
    _sub(inf, "tpEvento", tipo)
    _sub(inf, "nSeqEvento", seq)
    det = _sub(inf, "detEvento", versao="1.00")
    _sub(det, "descEvento", descricao)
    for key, value in detail.items():
        _sub(det, key, value)
    ret = _sub(_sub(root, "retEvento", versao="1.00"), "infEvento")
    _sub(ret, "tpAmb", _tp_amb(doc))
    _sub(ret, "cStat", "135")
    _sub(ret, "xMotivo", "Evento registrado e vinculado a NF-e")
    _sub(ret, "chNFe", doc.chave)
    _sub(ret, "tpEvento", tipo)
    _sub(ret, "nProt", protocolo)
    return root


def inutilizacao_xml(inu: dict[str, Any]) -> ET.Element:
    root = ET.Element("procInutNFe", {"xmlns": NFE_NS, "versao": "4.00"})
    inf = _sub(_sub(root, "inutNFe", versao="4.00"), "infInut", Id=f"ID{inu['xml_id']}")
    _sub(inf, "tpAmb", inu["tp_amb"])
    _sub(inf, "xServ", "INUTILIZAR")
    _sub(inf, "cUF", inu["cuf"])
    _sub(inf, "ano", inu["ano"])
    _sub(inf, _doc_tag(inu["cnpj"]), inu["cnpj"])
    _sub(inf, "mod", inu["modelo"])
    _sub(inf, "serie", inu["serie"])
    _sub(inf, "nNFIni", inu["inicio"])
    _sub(inf, "nNFFin", inu["fim"])
    _sub(inf, "xJust", inu["justificativa"])
    ret = _sub(_sub(root, "retInutNFe", versao="4.00"), "infInut")
    _sub(ret, "tpAmb", inu["tp_amb"])
    _sub(ret, "cStat", inu["status_sefaz"])
    _sub(ret, "xMotivo", inu["mensagem_sefaz"])
    _sub(ret, "nProt", inu.get("protocolo"))
    return root


def nfse_xml(doc: Document, company: Company) -> ET.Element:
    p = doc.payload
    if doc.doc_type == "nfsen":
        root = ET.Element("NFSe", {"xmlns": NFSEN_NS, "versao": "1.00"})
        inf = _sub(root, "infNFSe", Id=f"NFS{doc.codigo_verificacao}")
        _sub(inf, "nNFSe", doc.numero)
        _sub(inf, "cLocEmi", p.get("codigo_municipio_emissora"))
        _sub(inf, "dhProc", iso(doc.authorized_at or doc.created_at))
        _sub(inf, "nDFSe", doc.protocolo)
        dps = _sub(_sub(inf, "DPS", versao="1.00"), "infDPS")
        _sub(dps, "tpAmb", _tp_amb(doc))
        _sub(dps, "serie", doc.serie_rps)
        _sub(dps, "nDPS", doc.numero_rps)
        prest = _sub(dps, "prest")
        _sub(prest, _doc_tag(company.document), company.document)
        if p.get("cnpj_tomador") or p.get("cpf_tomador"):
            toma = _sub(dps, "toma")
            _sub(
                toma,
                "CNPJ" if p.get("cnpj_tomador") else "CPF",
                p.get("cnpj_tomador") or p.get("cpf_tomador"),
            )
            _sub(toma, "xNome", p.get("razao_social_tomador", ""))
        serv = _sub(dps, "serv")
        _sub(serv, "cTribNac", p.get("codigo_tributacao_nacional_iss", ""))
        _sub(serv, "xDescServ", p.get("descricao_servico", ""))
        _sub(_sub(dps, "valores"), "vServ", p.get("valor_servico"))
        return root
    root = ET.Element("CompNfse", {"xmlns": NFSE_NS})
    inf = _sub(_sub(root, "Nfse", versao="2.04"), "InfNfse")
    _sub(inf, "Numero", doc.numero)
    _sub(inf, "CodigoVerificacao", doc.codigo_verificacao)
    _sub(inf, "DataEmissao", iso(doc.authorized_at or doc.created_at))
    rps = _sub(inf, "IdentificacaoRps")
    _sub(rps, "Numero", doc.numero_rps)
    _sub(rps, "Serie", doc.serie_rps)
    _sub(rps, "Tipo", "1")
    servico = p.get("servico") or {}
    serv = _sub(inf, "Servico")
    _sub(_sub(serv, "Valores"), "ValorServicos", servico.get("valor_servicos"))
    _sub(serv, "ItemListaServico", servico.get("item_lista_servico", ""))
    _sub(serv, "Discriminacao", servico.get("discriminacao", ""))
    _sub(serv, "CodigoMunicipio", (p.get("prestador") or {}).get("codigo_municipio", ""))
    prest = _sub(_sub(inf, "PrestadorServico"), "IdentificacaoPrestador")
    _sub(prest, "Cnpj" if company.cnpj else "Cpf", company.document)
    tomador = p.get("tomador") or {}
    if tomador:
        tom = _sub(inf, "TomadorServico")
        ident = _sub(tom, "IdentificacaoTomador")
        _sub(
            ident,
            "Cnpj" if tomador.get("cnpj") else "Cpf",
            tomador.get("cnpj") or tomador.get("cpf") or "",
        )
        _sub(tom, "RazaoSocial", tomador.get("razao_social", ""))
    return root


def nfse_cancel_xml(doc: Document, company: Company) -> ET.Element:
    cancel = doc.cancel or {}
    if doc.doc_type == "nfsen":
        root = ET.Element("evento", {"xmlns": NFSEN_NS, "versao": "1.00"})
        inf = _sub(root, "infEvento", Id=f"EVT{doc.codigo_verificacao}101101")
        _sub(inf, "chNFSe", doc.codigo_verificacao)
        _sub(inf, "tpEvento", "101101")
        _sub(inf, "xMotivo", cancel.get("justificativa", ""))
        _sub(inf, "nProt", cancel.get("protocolo"))
        return root
    root = ET.Element("CancelarNfseResposta", {"xmlns": NFSE_NS})
    conf = _sub(_sub(root, "RetCancelamento"), "NfseCancelamento")
    inf = _sub(_sub(conf, "Confirmacao"), "Pedido")
    ident = _sub(_sub(inf, "InfPedidoCancelamento"), "IdentificacaoNfse")
    _sub(ident, "Numero", doc.numero)
    _sub(ident, "Cnpj" if company.cnpj else "Cpf", company.document)
    _sub(conf, "DataHora", iso(cancel.get("at") or doc.created_at))
    _sub(conf, "Justificativa", cancel.get("justificativa", ""))
    return root


# -- PDF / HTML -----------------------------------------------------------------------------


def danfe_lines(doc: Document, company: Company) -> list[str]:
    p = doc.payload
    lines = [
        "DANFE - Documento Auxiliar da Nota Fiscal Eletronica",
        f"Chave de acesso: {doc.chave}",
        f"Numero: {doc.numero}   Serie: {doc.serie}   Tipo de emissao: {doc.tp_emis}",
        f"Protocolo de autorizacao: {doc.protocolo} {iso(doc.authorized_at or doc.created_at)}",
        f"Emitente: {p.get('nome_emitente') or company.data.get('nome', '')} - {company.document}",
        f"Destinatario: {p.get('nome_destinatario', '')} - "
        f"{p.get('cnpj_destinatario') or p.get('cpf_destinatario') or ''}",
        f"Natureza da operacao: {p.get('natureza_operacao', '')}",
        "Itens:",
    ]
    lines += _item_lines(p)
    lines.append(f"Valor total da nota: {p.get('valor_total', '')}")
    if doc.env != PRODUCAO:
        lines.append("SEM VALOR FISCAL - " + HOMOLOGACAO_NOME)
    if doc.status == "cancelado":
        lines.append("NF-e CANCELADA")
    return lines


def _item_lines(p: dict[str, Any]) -> list[str]:
    out = []
    for index, item in enumerate(items_of(p), start=1):
        if isinstance(item, dict):
            quantity = item.get("quantidade_comercial", "")
            unit = item.get("valor_unitario_comercial", "")
            out.append(
                f"  {item.get('numero_item') or index}. {item.get('descricao', '')} - "
                f"{quantity} x {unit} = {_item_total(item):.2f}"
            )
    return out


def cce_lines(doc: Document, company: Company, cce: dict[str, Any]) -> list[str]:
    return [
        "CARTA DE CORRECAO ELETRONICA",
        f"Chave de acesso da NF-e: {doc.chave}",
        f"Emitente: {company.document}",
        f"Sequencia do evento: {cce['numero']}",
        f"Protocolo: {cce['protocolo']} {iso(cce['at'])}",
        "Correcao:",
        *_wrap(cce["correcao"]),
        "Condicoes de uso:",
        *_wrap(CONDICOES_USO_CCE),
    ]


def danfse_lines(doc: Document, company: Company) -> list[str]:
    p = doc.payload
    return [
        "DANFSe - Documento Auxiliar da NFS-e",
        f"Numero da NFS-e: {doc.numero}",
        f"Chave de acesso: {doc.codigo_verificacao}",
        f"DPS: {doc.numero_rps} serie {doc.serie_rps}",
        f"Prestador: {company.document}",
        f"Tomador: {p.get('razao_social_tomador', '')}",
        "Servico:",
        *_wrap(str(p.get("descricao_servico", ""))),
        f"Valor do servico: {p.get('valor_servico', '')}",
        *(["NFS-e CANCELADA"] if doc.status == "cancelado" else []),
    ]


def _wrap(text: str, width: int = 90) -> list[str]:
    words, lines, current = str(text).split(), [], ""
    for word in words:
        if current and len(current) + len(word) + 1 > width:
            lines.append("  " + current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        lines.append("  " + current)
    return lines


def danfce_html(doc: Document, company: Company) -> str:
    p = doc.payload
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(str(i.get('codigo_produto', '')))}</td><td>{e(str(i.get('descricao', '')))}"
        f"</td><td>{e(str(i.get('quantidade_comercial', '')))}</td>"
        f"<td>{_item_total(i):.2f}</td></tr>"
        for i in items_of(p)
        if isinstance(i, dict)
    )
    flags = []
    if doc.env != PRODUCAO:
        flags.append("EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL")
    if doc.contingencia_offline and not doc.contingencia_offline_efetivada:
        flags.append("EMITIDA EM CONTINGENCIA - Pendente de autorizacao")
    if doc.status == "cancelado":
        flags.append("NFC-e CANCELADA")
    return (
        '<!DOCTYPE html><html lang="pt-BR"><head><meta charset="utf-8">'
        f"<title>DANFCe {e(doc.chave or '')}</title></head><body>"
        "<h1>DANFE NFC-e - Documento Auxiliar da Nota Fiscal de Consumidor Eletronica</h1>"
        f"<p>Emitente: {e(str(p.get('nome_emitente') or company.data.get('nome', '')))} "
        f"CNPJ {e(company.document)}</p>"
        f"<p>NFC-e n. {doc.numero} Serie {doc.serie} Emissao {e(iso(doc.created_at))}</p>"
        f"<p>Protocolo de autorizacao: {e(str(doc.protocolo or ''))}</p>"
        f"<table><tr><th>Codigo</th><th>Descricao</th><th>Qtde</th><th>Valor</th></tr>{rows}"
        "</table>"
        f'<p>Chave de acesso: <span class="chave">{e(doc.chave or "")}</span></p>'
        f'<p>Consulte pela chave de acesso em <a href="{e(qrcode_url(doc, company))}">'
        f"{e(qrcode_url(doc, company))}</a></p>"
        + "".join(f"<p><strong>{e(f)}</strong></p>" for f in flags)
        + "</body></html>"
    )


def nfse_html(doc: Document, company: Company) -> str:
    e = html.escape
    return (
        '<!DOCTYPE html><html lang="pt-BR"><head><meta charset="utf-8">'
        f"<title>NFS-e {doc.numero}</title></head><body>"
        f"<h1>Nota Fiscal de Servicos Eletronica n. {doc.numero}</h1>"
        f"<p>Prestador: {e(company.document)}</p>"
        f"<p>Codigo de verificacao: {e(str(doc.codigo_verificacao))}</p>"
        f"<p>Situacao: {e(doc.status)}</p></body></html>"
    )


def _pdf_text(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def make_pdf(lines: list[str], *, per_page: int = 54) -> bytes:
    """A valid multi-page PDF 1.4 with the lines in Helvetica (WinAnsi)."""
    pages = [lines[i : i + per_page] for i in range(0, len(lines), per_page)] or [[]]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled once the kids are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for page_number, page_lines in enumerate(pages):
        ops = [b"BT", b"/F1 10 Tf", b"14 TL", b"40 800 Td"]
        for index, line in enumerate(page_lines):
            size = b"13" if index == 0 and page_number == 0 else b"10"
            ops.append(b"/F1 " + size + b" Tf (" + _pdf_text(line) + b") Tj T*")
        ops.append(b"ET")
        stream = b"\n".join(ops)
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % len(objects)
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    objects.append(
        b"<< /Producer (Focus NFe sandbox) /Title ("
        + _pdf_text(lines[0] if lines else "documento")
        + b") >>"
    )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        len(objects),
        xref,
    )
    return bytes(out)
