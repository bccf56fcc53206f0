"""Tax reform (IBS/CBS, 2026 test year) on NFe/NFCe: written into the authorized XML, incoherent
documents rejected as SEFAZ does. Reference: NT 2025.002-RTC v1.31 (sandbox/ibscbs.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest

from tests.sandbox.helpers import nfce_payload, nfe_payload, reform_payload, taxed_item

NS = {"n": "http://www.portalfiscal.inf.br/nfe"}


def emit(client: httpx.Client, ref: str, payload: dict[str, Any], doc: str = "nfe") -> dict:
    posted = client.post(f"/v2/{doc}", params={"ref": ref}, json=payload)
    assert posted.status_code in (201, 202), posted.text
    return client.get(f"/v2/{doc}/{ref}").json()


def xml_of(client: httpx.Client, body: dict) -> ET.Element:
    response = client.get(body["caminho_xml_nota_fiscal"])
    assert response.status_code == 200
    return ET.fromstring(response.content)  # noqa: S314 - our own sandbox's output


def text(root: ET.Element, path: str) -> str | None:
    found = root.find(path, NS)
    return None if found is None else found.text


def test_authorized_xml_carries_the_ibscbs_groups_and_totals(acme: httpx.Client) -> None:
    body = emit(acme, "rt-1", reform_payload())
    assert body["status"] == "autorizado", body
    root = xml_of(acme, body)
    dets = root.findall(".//n:det", NS)
    assert len(dets) == 2
    first = dets[0].find("n:imposto/n:IBSCBS", NS)
    assert first is not None
    assert text(first, "n:CST") == "000" and text(first, "n:cClassTrib") == "000001"
    assert text(first, "n:gIBSCBS/n:vBC") == "1000.00"
    assert text(first, "n:gIBSCBS/n:gIBSUF/n:pIBSUF") == "0.1000"
    assert text(first, "n:gIBSCBS/n:gIBSUF/n:vIBSUF") == "1.00"
    assert text(first, "n:gIBSCBS/n:gIBSMun/n:vIBSMun") == "0.00"
    assert text(first, "n:gIBSCBS/n:vIBS") == "1.00"
    assert text(first, "n:gIBSCBS/n:gCBS/n:pCBS") == "0.9000"
    assert text(first, "n:gIBSCBS/n:gCBS/n:vCBS") == "9.00"
    # Layout order of gIBSCBS (UB15): vBC, gIBSUF, gIBSMun, vIBS, gCBS.
    assert [child.tag.split("}")[1] for child in first.find("n:gIBSCBS", NS)] == [
        "vBC", "gIBSUF", "gIBSMun", "vIBS", "gCBS"]
    tot = root.find(".//n:total/n:IBSCBSTot", NS)
    assert tot is not None
    assert text(tot, "n:vBCIBSCBS") == "1250.00"
    assert text(tot, "n:gIBS/n:gIBSUF/n:vIBSUF") == "1.25"
    assert text(tot, "n:gIBS/n:vIBS") == "1.25"
    assert text(tot, "n:gCBS/n:vCBS") == "11.25"


def test_a_note_without_the_reform_fields_has_no_ibscbs_group(acme: httpx.Client) -> None:
    body = emit(acme, "rt-plain", nfe_payload())
    assert body["status"] == "autorizado"
    root = xml_of(acme, body)
    assert root.find(".//n:IBSCBS", NS) is None and root.find(".//n:IBSCBSTot", NS) is None


def test_totals_not_sent_are_summed_from_the_items(acme: httpx.Client) -> None:
    payload = reform_payload()
    del payload["ibs_valor_total"], payload["cbs_valor_total"]
    body = emit(acme, "rt-2", payload)
    assert body["status"] == "autorizado", body
    assert text(xml_of(acme, body), ".//n:IBSCBSTot/n:gCBS/n:vCBS") == "11.25"


def test_a_value_within_one_cent_of_base_times_rate_is_accepted(acme: httpx.Client) -> None:
    # 333.33 x 0.9 % = 2.99997: SEFAZ accepts 0.01 either way (UB67-10, observação 1).
    item = taxed_item(1, 333.33, cbs_valor=2.99, ibs_uf_valor=0.34)
    body = emit(acme, "rt-3", reform_payload(item))
    assert body["status"] == "autorizado", body


def test_cst_and_classification_without_a_base_is_an_ibscbs_group_without_values(
    acme: httpx.Client,
) -> None:
    item = taxed_item(1, 100.0, ibs_cbs_situacao_tributaria="410",
                      ibs_cbs_classificacao_tributaria="410001")
    for name in ("ibs_cbs_base_calculo", "ibs_uf_aliquota", "ibs_uf_valor", "ibs_mun_aliquota",
                 "ibs_mun_valor", "cbs_aliquota", "cbs_valor"):
        del item[name]
    payload = nfe_payload(items=[item])
    body = emit(acme, "rt-4", payload)
    assert body["status"] == "autorizado", body
    group = xml_of(acme, body).find(".//n:IBSCBS", NS)
    assert text(group, "n:CST") == "410" and group.find("n:gIBSCBS", NS) is None


REJECTIONS = [
    pytest.param({"items": [taxed_item(1, 100.0, ibs_cbs_classificacao_tributaria=None)]},
                 "225", "cClassTrib", id="cst-without-classification"),
    pytest.param({"items": [taxed_item(1, 100.0, ibs_cbs_classificacao_tributaria="200004")]},
                 "1024", "incompativel com o CST", id="classification-of-another-cst"),
    pytest.param({"items": [taxed_item(1, 100.0, ibs_cbs_situacao_tributaria="999",
                                       ibs_cbs_classificacao_tributaria="999001")]},
                 "1020", "CST do IBS/CBS informado inexistente", id="unknown-cst"),
    pytest.param({"items": [taxed_item(7, 100.0, ibs_uf_valor=0.5)]},  # named by its nItem
                 "1041", "Valor do IBS da UF difere do calculado [nItem: 7]", id="ibs-uf-value"),
    pytest.param({"items": [taxed_item(1, 100.0, ibs_mun_aliquota=0.05, ibs_mun_valor=1.0)]},
                 "1052", "Valor do IBS Municipal difere do calculado", id="ibs-mun-value"),
    pytest.param({"items": [taxed_item(1, 100.0), taxed_item(2, 100.0, cbs_valor=0.92)]},
                 "1069", "Valor da CBS difere do calculado [nItem: 2]", id="cbs-value"),
    pytest.param({"items": [taxed_item(1, 100.0, cbs_valor=None)]},
                 "225", "esperado vCBS", id="rate-without-value"),
    pytest.param({"ibs_valor_total": 5.0}, "1085", "Total do IBS difere", id="ibs-total"),
    pytest.param({"cbs_valor_total": 11.30}, "1091", "Total de CBS difere", id="cbs-total"),
    pytest.param({"finalidade_emissao": 5, "tipo_documento": 0}, "1164",
                 "Nao informado tipo de nota de credito", id="credit-note-without-type"),
    pytest.param({"finalidade_emissao": 6}, "1009",
                 "Nao informado tipo de nota de credito/debito", id="debit-note-without-type"),
    pytest.param({"tipo_nota_credito": "01"}, "1163", "informado indevidamente",
                 id="credit-type-on-a-normal-note"),
    pytest.param({"tipo_nota_debito": "04"}, "1139", "informado indevidamente",
                 id="debit-type-on-a-normal-note"),
    pytest.param({"finalidade_emissao": 5, "tipo_nota_credito": "01", "tipo_documento": 1},
                 "1161", "incompativel com NF-e de Credito", id="credit-note-as-saida"),
    pytest.param({"tipo_nota_debito": "09", "finalidade_emissao": 6}, "225", "tpNFDebito",
                 id="debit-type-out-of-domain"),
]


@pytest.mark.parametrize(("overrides", "status_sefaz", "message"), REJECTIONS)
def test_incoherent_reform_fields_are_rejected_as_sefaz_does(
    acme: httpx.Client, overrides: dict[str, Any], status_sefaz: str, message: str
) -> None:
    overrides = dict(overrides)
    items = overrides.pop("items", None)
    payload = reform_payload(*(items or ()), **overrides)
    if items is not None:  # totals coherent with these items, so only the item rule fails
        coherent = reform_payload(*[taxed_item(i["numero_item"], i["valor_bruto"])
                                    for i in items])
        payload["ibs_valor_total"] = coherent["ibs_valor_total"]
        payload["cbs_valor_total"] = coherent["cbs_valor_total"]
    body = emit(acme, "rt-bad", payload)
    assert body["status"] == "erro_autorizacao", body
    assert body["status_sefaz"] == status_sefaz
    assert message in body["mensagem_sefaz"]


def test_totals_without_any_taxed_item_are_rejected(acme: httpx.Client) -> None:
    body = emit(acme, "rt-tot", nfe_payload(ibs_valor_total=1.0, cbs_valor_total=9.0))
    assert body["status"] == "erro_autorizacao"
    assert body["status_sefaz"] == "1118"


@pytest.mark.parametrize(("finalidade", "field", "tag", "tipo_documento"), [
    (5, "tipo_nota_credito", "tpNFCredito", 0),
    (6, "tipo_nota_debito", "tpNFDebito", 1),
])
def test_credit_and_debit_notes_are_authorized_with_their_type(
    acme: httpx.Client, finalidade: int, field: str, tag: str, tipo_documento: int
) -> None:
    payload = reform_payload(finalidade_emissao=finalidade, tipo_documento=tipo_documento,
                             **{field: 4})
    body = emit(acme, f"rt-fin-{finalidade}", payload)
    assert body["status"] == "autorizado", body
    ide = xml_of(acme, body).find(".//n:ide", NS)
    assert text(ide, "n:finNFe") == str(finalidade)
    assert text(ide, f"n:{tag}") == "04"  # two digits, as the layout's domain writes it
    names = [child.tag.split("}")[1] for child in ide]
    assert names.index(tag) == names.index("finNFe") + 1


def test_nfce_items_carry_ibscbs_too(acme: httpx.Client) -> None:
    payload = nfce_payload()
    payload["items"][0].update({
        "ibs_cbs_situacao_tributaria": "000", "ibs_cbs_classificacao_tributaria": "000001",
        "ibs_cbs_base_calculo": "79.00", "ibs_uf_aliquota": "0.10", "ibs_uf_valor": "0.08",
        "ibs_mun_aliquota": "0.00", "ibs_mun_valor": "0.00",
        "cbs_aliquota": "0.90", "cbs_valor": "0.71",
    })
    body = acme.post("/v2/nfce", params={"ref": "rt-nfce"}, json=payload).json()
    assert body["status"] == "autorizado", body
    root = xml_of(acme, body)
    assert text(root, ".//n:IBSCBS/n:gIBSCBS/n:gCBS/n:vCBS") == "0.71"
    bad = dict(payload)
    bad["items"] = [dict(payload["items"][0], cbs_valor="0.50")]
    refused = acme.post("/v2/nfce", params={"ref": "rt-nfce-2"}, json=bad).json()
    assert refused["status"] == "erro_autorizacao" and refused["status_sefaz"] == "1069"
