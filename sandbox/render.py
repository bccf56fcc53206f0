"""Focus's JSON shapes and file paths, built from a `Document`.

Reference: focus-nfe-api-v2.txt example answers of each "Consulta" section, and SUPPLEMENT.md
"Files" for the path shapes. Files live under `/arquivos` (produção) or `/arquivos_development`
(homologação) like on Focus; the paths are relative and served by this same server.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sandbox.chave import UF_CODES
from sandbox.clock import aaaamm, iso
from sandbox.state import PRODUCAO, Company, Document, Store

NFCE_QR_BASE = "https://www.sefaz.{uf}.gov.br/nfce/qrcode"
NFCE_CONSULTA = "https://www.sefaz.{uf}.gov.br/nfce/consulta"


def arquivos(env: str) -> str:
    return "/arquivos" if env == PRODUCAO else "/arquivos_development"


def _month(doc: Document) -> str:
    return aaaamm(doc.authorized_at or doc.created_at)


def xml_dir(doc: Document, company: Company, folder: str = "XMLs") -> str:
    return f"{arquivos(doc.env)}/{company.document}/{_month(doc)}/{folder}"


def nfe_paths(doc: Document, company: Company) -> dict[str, str]:
    base = xml_dir(doc, company)
    paths = {"xml": f"{base}/{doc.chave}-nfe.xml"}
    if doc.doc_type == "nfe":
        paths["danfe"] = f"{xml_dir(doc, company, 'DANFEs')}/{doc.chave}.pdf"
    else:
        paths["danfe"] = f"/notas_fiscais_consumidor/NFe{doc.chave}.html"
    paths["can"] = f"{base}/{doc.chave}-can.xml"
    return paths


def cce_paths(doc: Document, company: Company, numero: int) -> dict[str, str]:
    return {
        "xml": f"{xml_dir(doc, company)}/{doc.chave}-cce-{numero:02d}.xml",
        "pdf": f"/notas_fiscais/NFe{doc.chave}/cartas_correcao/{numero}.pdf",
    }


def event_path(doc: Document, company: Company, suffix: str) -> str:
    return f"{xml_dir(doc, company)}/{doc.chave}-{suffix}.xml"


def nfse_base_name(doc: Document, company: Company) -> str:
    municipio = _codigo_municipio(doc)
    return f"{company.document}{municipio}-{doc.numero}-{doc.codigo_verificacao}"


def nfse_paths(doc: Document, company: Company) -> dict[str, str]:
    base = xml_dir(doc, company, "XMLsNFSe")
    name = nfse_base_name(doc, company)
    return {
        "xml": f"{base}/{name}-nfse.xml",
        "can": f"{base}/{name}-can.xml",
        "danfse": f"{xml_dir(doc, company, 'DANFSEs')}/NFSe{name}.pdf",
        "html": f"/nfse/{doc.env}/{company.document}/{doc.numero}/{doc.codigo_verificacao}",
    }


def _codigo_municipio(doc: Document) -> str:
    if doc.doc_type == "nfse":
        return str((doc.payload.get("prestador") or {}).get("codigo_municipio") or "")
    return str(doc.payload.get("codigo_municipio_emissora") or "")


def emitter_field(doc: Document, company: Company) -> dict[str, str]:
    if doc.doc_type in ("nfe", "nfce"):
        key = "cpf_emitente" if company.cpf and not company.cnpj else "cnpj_emitente"
    else:
        key = "cpf_prestador" if company.cpf and not company.cnpj else "cnpj_prestador"
    return {key: company.document}


def qrcode_url(doc: Document, company: Company) -> str:
    tp_amb = "1" if doc.env == PRODUCAO else "2"
    digest = hashlib.sha1(f"{doc.chave}{company.id}".encode()).hexdigest().upper()  # noqa: S324
    return f"{NFCE_QR_BASE.format(uf=company.uf.lower())}?p={doc.chave}|2|{tp_amb}|1|{digest}"


def previous_attempt(attempt: dict[str, Any]) -> dict[str, Any]:
    """`tentativa_anterior` as Focus shows it (SUPPLEMENT.md "Previous attempts")."""
    return {k: v for k, v in attempt.items() if not k.startswith("_")}


def consulta(store: Store, doc: Document, *, completa: bool = False) -> dict[str, Any]:
    company = store.companies.get(doc.company_id)
    if company is None:  # the company was deleted after emission; keep answering
        company = Company(
            id=doc.company_id, data={}, token_homologacao="", token_producao="", created_at=0.0
        )
    if doc.doc_type in ("nfe", "nfce"):
        out = _consulta_nfe(store, doc, company)
        if completa:
            out.update(completa_objects(store, doc, company))
        return out
    return _consulta_nfse(store, doc, company)


def _consulta_nfe(store: Store, doc: Document, company: Company) -> dict[str, Any]:
    out: dict[str, Any] = {**emitter_field(doc, company), "ref": doc.ref, "status": doc.status}
    if doc.status == "processando_autorizacao":
        return out
    out["status_sefaz"] = doc.status_sefaz
    out["mensagem_sefaz"] = doc.mensagem_sefaz
    if doc.chave is None:
        return out
    paths = nfe_paths(doc, company)
    out["chave_nfe"] = f"NFe{doc.chave}"
    out["numero"] = str(doc.numero)
    out["serie"] = str(doc.serie)
    out["caminho_xml_nota_fiscal"] = paths["xml"]
    if doc.status != "denegado":
        out["caminho_danfe"] = paths["danfe"]
    if doc.doc_type == "nfce":
        out["qrcode_url"] = qrcode_url(doc, company)
        out["url_consulta_nf"] = NFCE_CONSULTA.format(uf=company.uf.lower())
        # `protocolo` is the authorization's; `numero_protocolo` the latest event's (the
        # cancellation once cancelled), as the NFCe examples show them.
        out["protocolo"] = doc.protocolo
        out["numero_protocolo"] = (
            doc.cancel["protocolo"] if doc.cancel and doc.status == "cancelado" else doc.protocolo
        )
    if doc.cancel and doc.status == "cancelado":
        out["caminho_xml_cancelamento"] = paths["can"]
    if doc.cces:
        last = doc.cces[-1]["numero"]
        cce = cce_paths(doc, company, last)
        out["caminho_xml_carta_correcao"] = cce["xml"]
        out["caminho_pdf_carta_correcao"] = cce["pdf"]
        out["numero_carta_correcao"] = last
    if doc.contingencia_offline is not None:
        out["contingencia_offline"] = doc.contingencia_offline
        out["contingencia_offline_efetivada"] = bool(doc.contingencia_offline_efetivada)
    if doc.tentativa_anterior:
        out["tentativa_anterior"] = previous_attempt(doc.tentativa_anterior)
    if doc.tentativas_anteriores:
        out["tentativas_anteriores"] = [previous_attempt(a) for a in doc.tentativas_anteriores]
    return out


def completa_objects(store: Store, doc: Document, company: Company) -> dict[str, Any]:
    """The six objects `completa=1` adds (SUPPLEMENT.md "completa=1"); null when not applicable."""
    orgao = UF_CODES.get(company.uf, "91")
    ambiente = "1" if doc.env == PRODUCAO else "2"
    out: dict[str, Any] = {
        "requisicao_nota_fiscal": None,
        "protocolo_nota_fiscal": None,
        "requisicao_cancelamento": None,
        "protocolo_cancelamento": None,
        "requisicao_carta_correcao": None,
        "protocolo_carta_correcao": None,
    }
    out["requisicao_nota_fiscal"] = {
        **doc.payload,
        "numero": str(doc.numero) if doc.numero else doc.payload.get("numero"),
        "serie": str(doc.serie) if doc.serie else doc.payload.get("serie"),
        "chave_nfe": f"NFe{doc.chave}" if doc.chave else None,
        "ambiente": ambiente,
        "tipo_emissao": doc.tp_emis,
    }
    if doc.chave and doc.authorized_at:
        out["protocolo_nota_fiscal"] = {
            "versao": "4.00",
            "ambiente": ambiente,
            "versao_aplicativo": "SANDBOX-1.0",
            "chave_nfe": doc.chave,
            "data_recebimento": iso(doc.authorized_at),
            "numero_protocolo": doc.protocolo,
            "status": doc.outcome.get("status_sefaz"),
            "motivo": doc.outcome.get("mensagem_sefaz"),
        }
    if doc.cancel and doc.cancel.get("status") == "cancelado":
        out["requisicao_cancelamento"] = {
            "versao": "1.00",
            "id_tag": f"ID110111{doc.chave}01",
            "codigo_orgao": orgao,
            "ambiente": ambiente,
            "cnpj": company.document,
            "chave_nfe": doc.chave,
            "data_evento": iso(doc.cancel["at"]),
            "tipo_evento": "110111",
            "numero_sequencial_evento": "1",
            "versao_evento": "1.00",
            "descricao_evento": "Cancelamento",
            "protocolo": doc.protocolo,
            "justificativa": doc.cancel["justificativa"],
        }
        out["protocolo_cancelamento"] = _event_protocol(
            doc, orgao, ambiente, "110111", "Cancelamento", doc.cancel
        )
    if doc.cces:
        last = doc.cces[-1]
        out["requisicao_carta_correcao"] = {
            "versao": "1.00",
            "id_tag": f"ID110110{doc.chave}{last['numero']:02d}",
            "codigo_orgao": orgao,
            "ambiente": ambiente,
            "cnpj": company.document,
            "chave_nfe": doc.chave,
            "data_evento": iso(last["at"]),
            "tipo_evento": "110110",
            "numero_sequencial_evento": str(last["numero"]),
            "versao_evento": "1.00",
            "descricao_evento": "Carta de Correcao",
            "correcao": last["correcao"],
            "condicoes_uso": CONDICOES_USO_CCE,
        }
        out["protocolo_carta_correcao"] = _event_protocol(
            doc, orgao, ambiente, "110110", "Carta de Correção", last
        )
    return out


def _event_protocol(
    doc: Document, orgao: str, ambiente: str, tipo: str, descricao: str, event: dict[str, Any]
) -> dict[str, Any]:
    return {
        "versao": "1.00",
        "ambiente": ambiente,
        "versao_aplicativo": "SANDBOX-1.0",
        "codigo_orgao": orgao,
        "status": "135",
        "motivo": "Evento registrado e vinculado a NF-e",
        "chave_nfe": doc.chave,
        "tipo_evento": tipo,
        "descricao_evento": descricao,
        "data_evento": iso(event["at"]),
        "numero_protocolo": event["protocolo"],
    }


CONDICOES_USO_CCE = (
    "A Carta de Correcao e disciplinada pelo paragrafo 1o-A do art. 7o do Convenio S/N, de 15 de "
    "dezembro de 1970 e pode ser utilizada para regularizacao de erro ocorrido na emissao de "
    "documento fiscal, desde que o erro nao esteja relacionado com: I - as variaveis que "
    "determinam o valor do imposto tais como: base de calculo, aliquota, diferenca de preco, "
    "quantidade, valor da operacao ou da prestacao; II - a correcao de dados cadastrais que "
    "implique mudanca do remetente ou do destinatario; III - a data de emissao ou de saida."
)


def _consulta_nfse(store: Store, doc: Document, company: Company) -> dict[str, Any]:
    out: dict[str, Any] = {
        **emitter_field(doc, company),
        "ref": doc.ref,
        "numero_rps": str(doc.numero_rps),
        "serie_rps": doc.serie_rps,
    }
    if doc.doc_type == "nfsen":
        out["tipo_rps"] = "1"
    out["status"] = doc.status
    if doc.status == "erro_autorizacao":
        out["erros"] = doc.erros or []
        return out
    if doc.numero is None:
        return out
    paths = nfse_paths(doc, company)
    out["numero"] = str(doc.numero)
    out["codigo_verificacao"] = doc.codigo_verificacao
    out["data_emissao"] = iso(doc.authorized_at or doc.created_at)
    out["url"] = _nfse_url(store, doc, paths)
    out["caminho_xml_nota_fiscal"] = paths["xml"]
    if doc.cancel and doc.status == "cancelado":
        out["caminho_xml_cancelamento"] = paths["can"]
    if doc.doc_type == "nfsen":
        out["url_danfse"] = f"{store_base_url(store)}{paths['danfse']}"
    if doc.numero_nfse_substituida:
        out["numero_nfse_substituida"] = doc.numero_nfse_substituida
    if doc.numero_nfse_substituta:
        out["numero_nfse_substituta"] = doc.numero_nfse_substituta
    return out


def _nfse_url(store: Store, doc: Document, paths: dict[str, str]) -> str:
    if doc.doc_type == "nfsen":
        return f"https://www.nfse.gov.br/consultapublica/?tpc=1&chave={doc.codigo_verificacao}"
    return f"{store_base_url(store)}{paths['html']}"


def store_base_url(store: Store) -> str:
    return store.base_url
