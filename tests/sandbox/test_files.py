"""Every `caminho_*` is served: well-formed XML with the note's facts, valid PDFs, HTML DANFCe."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import httpx

from sandbox.server import SandboxServer
from tests.sandbox.helpers import nfce_payload, nfe_payload, nfse_payload

NS = {"n": "http://www.portalfiscal.inf.br/nfe"}


def assert_valid_pdf(data: bytes) -> None:
    """Header, trailer, and an xref table whose offsets point at the objects they name."""
    assert data.startswith(b"%PDF-1.")
    assert data.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\s+(\d+)", data).group(1))  # type: ignore[union-attr]
    assert data[startxref:].startswith(b"xref")
    table = data[startxref:].split(b"trailer")[0].split(b"\n")
    count = int(table[1].split()[1])
    entries = table[2 : 2 + count]
    for number, entry in enumerate(entries[1:], start=1):
        offset = int(entry[:10])
        assert data[offset:].startswith(f"{number} 0 obj".encode()), number
    assert b"/Type /Catalog" in data and b"/Type /Page" in data


def test_nfe_xml_carries_chave_numero_protocolo_and_items(acme: httpx.Client) -> None:
    acme.post("/v2/nfe", params={"ref": "x"}, json=nfe_payload())
    note = acme.get("/v2/nfe/x").json()
    full = acme.get("/v2/nfe/x", params={"completa": 1}).json()
    r = acme.get(note["caminho_xml_nota_fiscal"])
    assert r.status_code == 200 and "xml" in r.headers["content-type"]
    root = ET.fromstring(r.content)  # noqa: S314 - our own server's output
    inf = root.find("n:NFe/n:infNFe", NS)
    assert inf is not None and inf.get("Id") == note["chave_nfe"]
    assert root.findtext("n:NFe/n:infNFe/n:ide/n:nNF", namespaces=NS) == note["numero"]
    assert root.findtext("n:NFe/n:infNFe/n:ide/n:serie", namespaces=NS) == note["serie"]
    assert root.findtext("n:NFe/n:infNFe/n:det/n:prod/n:xProd", namespaces=NS) == (
        "Cartões de Visita"
    )
    assert (
        root.findtext("n:protNFe/n:infProt/n:nProt", namespaces=NS)
        == (full["protocolo_nota_fiscal"]["numero_protocolo"])
    )
    assert root.findtext("n:protNFe/n:infProt/n:chNFe", namespaces=NS) == note["chave_nfe"][3:]


def test_danfe_and_cce_pdfs_are_valid(acme: httpx.Client) -> None:
    acme.post("/v2/nfe", params={"ref": "x"}, json=nfe_payload())
    note = acme.get("/v2/nfe/x").json()
    danfe = acme.get(note["caminho_danfe"])
    assert danfe.headers["content-type"] == "application/pdf"
    assert_valid_pdf(danfe.content)
    assert note["chave_nfe"][3:].encode() in danfe.content
    cce = acme.post("/v2/nfe/x/carta_correcao", json={"correcao": "Correção (do) endereço \\ ok"})
    pdf = acme.get(cce.json()["caminho_pdf_carta_correcao"])
    assert_valid_pdf(pdf.content)
    xml = acme.get(cce.json()["caminho_xml_carta_correcao"])
    ET.fromstring(xml.content)  # noqa: S314
    assert "<xCorrecao>Correção (do) endereço \\ ok</xCorrecao>" in xml.text


def test_long_pdf_spans_pages(acme: httpx.Client) -> None:
    payload = nfe_payload()
    payload["items"] = [dict(payload["items"][0], numero_item=i) for i in range(1, 121)]
    acme.post("/v2/nfe", params={"ref": "big"}, json=payload)
    pdf = acme.get(acme.get("/v2/nfe/big").json()["caminho_danfe"]).content
    assert_valid_pdf(pdf)
    assert b"/Count 3" in pdf


def test_cancel_xml_and_cancelled_danfe(acme: httpx.Client) -> None:
    acme.post("/v2/nfe", params={"ref": "x"}, json=nfe_payload())
    note = acme.get("/v2/nfe/x").json()
    r = acme.request("DELETE", "/v2/nfe/x", json={"justificativa": "Cancelamento de teste aqui"})
    can = acme.get(r.json()["caminho_xml_cancelamento"])
    root = ET.fromstring(can.content)  # noqa: S314
    assert root.findtext("n:evento/n:infEvento/n:chNFe", namespaces=NS) == note["chave_nfe"][3:]
    assert b"CANCELADA" in acme.get(note["caminho_danfe"]).content


def test_danfce_is_html(acme: httpx.Client) -> None:
    body = acme.post("/v2/nfce", params={"ref": "c"}, json=nfce_payload()).json()
    r = acme.get(body["caminho_danfe"])
    assert r.headers["content-type"].startswith("text/html")
    assert body["chave_nfe"][3:] in r.text and "<html" in r.text


def test_nfse_xml(acme: httpx.Client) -> None:
    acme.post("/v2/nfse", params={"ref": "s"}, json=nfse_payload())
    body = acme.get("/v2/nfse/s").json()
    root = ET.fromstring(acme.get(body["caminho_xml_nota_fiscal"]).content)  # noqa: S314
    ns = {"a": "http://www.abrasf.org.br/nfse.xsd"}
    assert root.findtext("a:Nfse/a:InfNfse/a:Numero", namespaces=ns) == body["numero"]
    assert (
        root.findtext("a:Nfse/a:InfNfse/a:CodigoVerificacao", namespaces=ns)
        == (body["codigo_verificacao"])
    )


def test_files_are_public_and_unknown_paths_404(sandbox: SandboxServer, acme: httpx.Client) -> None:
    acme.post("/v2/nfe", params={"ref": "x"}, json=nfe_payload())
    path = acme.get("/v2/nfe/x").json()["caminho_xml_nota_fiscal"]
    assert httpx.get(sandbox.url + path).status_code == 200
    assert httpx.get(sandbox.url + path.replace("-nfe", "-xyz")).status_code == 404
