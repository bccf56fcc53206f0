"""Contingency and timeout corrections switched on per UF through the control API."""

from __future__ import annotations

import httpx

from sandbox.chave import chave_is_valid
from tests.sandbox.helpers import ACME, Receiver, counters, nfce_payload, nfe_payload


def test_nfe_contingency_resend(
    acme: httpx.Client, control: httpx.Client, receiver: Receiver
) -> None:
    acme.post("/v2/hooks", json={"event": "nfe", "url": receiver.url, "authorization": "s3"})
    control.post("/contingency", json={"uf": "PR", "nfe_resend": True})
    assert acme.post("/v2/nfe", params={"ref": "r"}, json=nfe_payload()).status_code == 202
    body = acme.get("/v2/nfe/r").json()
    assert body["status"] == "autorizado"
    chave = body["chave_nfe"][3:]
    assert chave[34] == "7"  # PR is served by SVC-RS
    assert body["numero"] == "2"  # number 1 went to the earlier attempt: a gap
    previous = body["tentativa_anterior"]
    assert previous["status"] == "cancelado"
    assert previous["numero"] == "1" and previous["serie"] == "1"
    assert chave_is_valid(previous["chave_nfe"][3:])
    assert previous["chave_nfe"][3:][34] == "1"
    assert acme.get(previous["caminho_xml_nota_fiscal"]).status_code == 200
    can = acme.get(previous["caminho_xml_cancelamento"])
    assert can.status_code == 200 and "<tpEvento>110111</tpEvento>" in can.text
    assert counters(control, "r") == {
        "token": "acme-hom",
        "doc_type": "nfe",
        "ref": "r",
        "posts": 1,
        "documents_created": 2,
        "contingency_documents": 1,
        "duplicates": 0,
    }
    calls = receiver.wait_for(1)
    assert calls[0]["json"]["tentativa_anterior"]["numero"] == "1"
    # The next note continues after the gap.
    control.post("/contingency", json={"uf": "PR", "nfe_resend": False})
    acme.post("/v2/nfe", params={"ref": "next"}, json=nfe_payload())
    assert acme.get("/v2/nfe/next").json()["numero"] == "3"


def test_nfce_offline_contingency_made_effective_later(
    acme: httpx.Client, control: httpx.Client, receiver: Receiver
) -> None:
    acme.post("/v2/hooks", json={"event": "nfce_contingencia", "url": receiver.url})
    control.post("/contingency", json={"uf": "PR", "nfce_offline": True})
    r = acme.post("/v2/nfce", params={"ref": "off"}, json=nfce_payload())
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "autorizado"
    assert body["contingencia_offline"] is True
    assert body["contingencia_offline_efetivada"] is False
    assert body["chave_nfe"][3:][34] == "9"
    assert body["numero"] == "2"
    assert "tentativa_anterior" not in body
    html = acme.get(body["caminho_danfe"]).text
    assert "CONTINGENCIA" in html
    assert counters(control, "off", "nfce")["documents_created"] == 1
    done = control.post("/nfce/off/efetivar").json()["efetivadas"]
    assert len(done) == 1
    after = acme.get("/v2/nfce/off").json()
    assert after["contingencia_offline_efetivada"] is True
    assert after["protocolo"]
    previous = after["tentativa_anterior"]
    assert previous["status"] == "cancelado" and previous["numero"] == "1"
    assert previous["numero_protocolo"]
    assert acme.get(previous["caminho_xml_cancelamento"]).status_code == 200
    assert counters(control, "off", "nfce") == {
        "token": "acme-hom",
        "doc_type": "nfce",
        "ref": "off",
        "posts": 1,
        "documents_created": 2,
        "contingency_documents": 1,
        "duplicates": 0,
    }
    calls = receiver.wait_for(1)
    assert calls[0]["json"]["ref"] == "off"
    assert calls[0]["json"]["contingencia_offline_efetivada"] is True


def test_nfce_offline_is_made_effective_automatically(
    acme: httpx.Client, control: httpx.Client
) -> None:
    control.post("/config", json={"nfce_efetivar_delay": 120})
    control.post("/contingency", json={"uf": "PR", "nfce_offline": True})
    acme.post("/v2/nfce", params={"ref": "off"}, json=nfce_payload())
    control.post("/clock", json={"advance_seconds": 121})
    control.post("/process", json={})
    assert acme.get("/v2/nfce/off").json()["contingencia_offline_efetivada"] is True


def test_nfce_offline_waits_while_sefaz_is_down(acme: httpx.Client, control: httpx.Client) -> None:
    control.post("/config", json={"nfce_efetivar_delay": 0})
    control.post("/contingency", json={"uf": "PR", "nfce_offline": True})
    control.post("/sefaz", json={"uf": "PR", "down": True})
    body = acme.post("/v2/nfce", params={"ref": "off"}, json=nfce_payload()).json()
    assert body["contingencia_offline"] is True  # SEFAZ down + contingency: offline emission
    control.post("/process", json={})
    assert acme.get("/v2/nfce/off").json()["contingencia_offline_efetivada"] is False
    control.post("/sefaz", json={"uf": "PR", "down": False})
    control.post("/process", json={})
    assert acme.get("/v2/nfce/off").json()["contingencia_offline_efetivada"] is True


def test_nfce_timeout_correction(
    acme: httpx.Client, control: httpx.Client, receiver: Receiver
) -> None:
    acme.post("/v2/hooks", json={"event": "nfce_correcao_timeout", "url": receiver.url})
    control.post("/contingency", json={"uf": "PR", "nfce_timeout_correction": True})
    body = acme.post("/v2/nfce", params={"ref": "t"}, json=nfce_payload()).json()
    assert body["status"] == "autorizado" and body["numero"] == "2"
    [previous] = body["tentativas_anteriores"]
    assert previous["status"] == "cancelado" and previous["numero"] == "1"
    assert {
        "chave_nfe",
        "serie",
        "protocolo",
        "caminho_xml_nota_fiscal",
        "caminho_xml_cancelamento",
    } <= set(previous)
    assert counters(control, "t", "nfce")["contingency_documents"] == 1
    assert counters(control, "t", "nfce")["duplicates"] == 0
    assert receiver.wait_for(1)[0]["json"]["tentativas_anteriores"][0]["numero"] == "1"


def test_contingency_is_per_uf(acme: httpx.Client, control: httpx.Client) -> None:
    control.post("/contingency", json={"uf": "SP", "nfe_resend": True})
    acme.post("/v2/nfe", params={"ref": "pr"}, json=nfe_payload(ACME))
    assert "tentativa_anterior" not in acme.get("/v2/nfe/pr").json()
    state = control.get("/contingency").json()["contingency"]
    assert state["SP"] == {
        "nfe_resend": True,
        "nfce_offline": False,
        "nfce_timeout_correction": False,
    }
