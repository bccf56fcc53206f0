"""NFCe: synchronous emission, 30-minute cancellation, manual offline contingency."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from sandbox.chave import chave_is_valid
from tests.sandbox.helpers import ACME, NORMAL, counters, delete, nfce_payload

JUST = "Cliente desistiu da compra no caixa"


def test_emission_is_synchronous_and_answers_the_final_result(
    acme: httpx.Client, control: httpx.Client
) -> None:
    control.post("/config", json={"processing_delay": 3600})  # NFCe ignores async delays
    r = acme.post("/v2/nfce", params={"ref": "c1"}, json=nfce_payload())
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "autorizado"
    assert body["status_sefaz"] == "100"
    chave = body["chave_nfe"][3:]
    assert chave_is_valid(chave) and chave[20:22] == "65"
    assert body["caminho_danfe"] == f"/notas_fiscais_consumidor/NFe{chave}.html"
    assert body["qrcode_url"].split("?p=")[1].startswith(chave)
    assert body["url_consulta_nf"]
    assert body["numero_protocolo"] == body["protocolo"]
    assert acme.get("/v2/nfce/c1").json() == body
    assert counters(control, "c1", "nfce")["documents_created"] == 1


def test_completa_on_post_and_get(acme: httpx.Client) -> None:
    r = acme.post("/v2/nfce", params={"ref": "c", "completa": 1}, json=nfce_payload())
    assert "protocolo_nota_fiscal" in r.json()
    assert "requisicao_nota_fiscal" in acme.get("/v2/nfce/c", params={"completa": 1}).json()


def test_csosn_for_non_simples_is_591(focus: Callable[..., httpx.Client]) -> None:
    r = focus("normal-hom").post("/v2/nfce", params={"ref": "e"}, json=nfce_payload(NORMAL))
    assert r.status_code == 201
    assert r.json() == {
        "cnpj_emitente": NORMAL,
        "ref": "e",
        "status": "erro_autorizacao",
        "status_sefaz": "591",
        "mensagem_sefaz": "Informado CSOSN para emissor que nao e do Simples Nacional "
        "(CRT diferente de 1). [nItem:1]",
    }


def test_named_consumer_in_homologacao_must_be_the_fixed_text(acme: httpx.Client) -> None:
    r = acme.post("/v2/nfce", params={"ref": "n"}, json=nfce_payload(nome_destinatario="Ana"))
    assert r.json()["status_sefaz"] == "598"


def test_rejection_trigger_and_ref_reuse(acme: httpx.Client) -> None:
    payload = nfce_payload(informacoes_adicionais_contribuinte="SANDBOX:REJEITAR:778")
    assert acme.post("/v2/nfce", params={"ref": "r"}, json=payload).json()["status"] == (
        "erro_autorizacao"
    )
    r = acme.post("/v2/nfce", params={"ref": "r"}, json=nfce_payload())
    assert r.json()["status"] == "autorizado"
    again = acme.post("/v2/nfce", params={"ref": "r"}, json=nfce_payload())
    assert again.status_code == 422 and again.json()["codigo"] == "nfe_autorizada"


def test_slow_sefaz_is_a_slow_answer(acme: httpx.Client) -> None:
    # A slow SEFAZ is real time by design; 0.2 s is as slow as it needs to be to show it.
    payload = nfce_payload(informacoes_adicionais_contribuinte="SANDBOX:LENTO:0.2")
    r = acme.post("/v2/nfce", params={"ref": "slow"}, json=payload)
    assert r.elapsed.total_seconds() >= 0.2
    assert r.json()["status"] == "autorizado"


def test_missing_formas_pagamento_and_ref(acme: httpx.Client) -> None:
    payload = nfce_payload()
    del payload["formas_pagamento"]
    assert acme.post("/v2/nfce", params={"ref": "x"}, json=payload).json()["mensagem"] == (
        'Parâmetro "formas_pagamento" não informado'
    )
    r = acme.post("/v2/nfce", json=nfce_payload())
    assert r.status_code == 400 and r.json()["codigo"] == "ref_ausente"


def test_sefaz_down_without_contingency_is_erro_108(
    acme: httpx.Client, control: httpx.Client
) -> None:
    control.post("/sefaz", json={"uf": "PR", "down": True})
    r = acme.post("/v2/nfce", params={"ref": "d"}, json=nfce_payload())
    assert r.json()["status"] == "erro_autorizacao"
    assert r.json()["status_sefaz"] == "108"


def test_cancel_within_30_minutes(acme: httpx.Client, control: httpx.Client) -> None:
    body = acme.post("/v2/nfce", params={"ref": "c"}, json=nfce_payload()).json()
    control.post("/clock", json={"advance_seconds": 29 * 60})
    r = delete(acme, "/v2/nfce/c", json={"justificativa": JUST})
    assert r.status_code == 200
    cancel = r.json()
    assert cancel["status"] == "cancelado" and cancel["status_sefaz"] == "135"
    assert cancel["caminho_xml_cancelamento"].endswith(f"{body['chave_nfe'][3:]}-can.xml")
    assert cancel["numero_protocolo"] != body["numero_protocolo"]
    after = acme.get("/v2/nfce/c").json()
    assert after["status"] == "cancelado"
    assert after["numero_protocolo"] == cancel["numero_protocolo"]


def test_cancel_after_30_minutes_is_refused(acme: httpx.Client, control: httpx.Client) -> None:
    acme.post("/v2/nfce", params={"ref": "c"}, json=nfce_payload())
    control.post("/clock", json={"advance_seconds": 31 * 60})
    r = delete(acme, "/v2/nfce/c", json={"justificativa": JUST})
    assert r.json()["status"] == "erro_cancelamento"
    assert acme.get("/v2/nfce/c").json()["status"] == "autorizado"


def test_cancel_errors(acme: httpx.Client) -> None:
    acme.post(
        "/v2/nfce",
        params={"ref": "bad"},
        json=nfce_payload(informacoes_adicionais_contribuinte="SANDBOX:REJEITAR:778"),
    )
    r = delete(acme, "/v2/nfce/bad", json={"justificativa": JUST})
    assert r.status_code == 422
    assert r.json() == {"codigo": "nfe_nao_autorizada", "mensagem": "Nota fiscal não autorizada"}
    acme.post("/v2/nfce", params={"ref": "ok"}, json=nfce_payload())
    missing = delete(acme, "/v2/nfce/ok", json={})
    assert missing.status_code == 400 and missing.json()["codigo"] == (
        "justificativa_nao_informada"
    )
    short = delete(acme, "/v2/nfce/ok", json={"justificativa": "curta"})
    assert short.json() == {
        "codigo": "requisicao_invalida",
        "mensagem": 'Parâmetro "justificativa" deve ter entre 15 e 255 caracteres',
    }


def test_email(acme: httpx.Client) -> None:
    acme.post("/v2/nfce", params={"ref": "m"}, json=nfce_payload())
    assert acme.post("/v2/nfce/m/email", json={"emails": ["a@b.com"]}).status_code == 200


def test_inutilizacao_241_for_a_used_number(acme: httpx.Client) -> None:
    acme.post("/v2/nfce", params={"ref": "u"}, json=nfce_payload())
    r = acme.post(
        "/v2/nfce/inutilizacao",
        json={
            "cnpj": ACME,
            "serie": "1",
            "numero_inicial": "1",
            "numero_final": "9",
            "justificativa": "Falha na sequência do PDV",
        },
    )
    assert r.json() == {
        "status_sefaz": "241",
        "mensagem_sefaz": "Um numero da faixa ja foi utilizado",
        "serie": "1",
        "numero_inicial": "1",
        "numero_final": "9",
        "status": "erro_autorizacao",
    }


# -- manual offline contingency (forma_emissao=offline) ---------------------------------------


def test_manual_offline_uses_the_clients_number_serie_and_code(acme: httpx.Client) -> None:
    payload = nfce_payload(
        numero=15, serie=600, codigo_unico="12345678", data_emissao="2025-12-01T10:00:00-03:00"
    )
    r = acme.post("/v2/nfce", params={"ref": "off", "forma_emissao": "offline"}, json=payload)
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "autorizado"
    assert (body["numero"], body["serie"]) == ("15", "600")
    chave = body["chave_nfe"][3:]
    assert chave[22:25] == "600" and chave[25:34] == "000000015"
    assert chave[34] == "9" and chave[35:43] == "12345678"
    assert chave_is_valid(chave)
    assert body["contingencia_offline"] is True
    assert body["contingencia_offline_efetivada"] is True


@pytest.mark.parametrize("missing", ["numero", "serie", "codigo_unico"])
def test_manual_offline_requires_number_serie_and_code(acme: httpx.Client, missing: str) -> None:
    payload = nfce_payload(numero=15, serie=600, codigo_unico="12345678")
    del payload[missing]
    r = acme.post("/v2/nfce", params={"ref": "off", "forma_emissao": "offline"}, json=payload)
    assert r.status_code == 400
    assert acme.get("/v2/nfce/off").status_code == 404


def test_invalid_forma_emissao(acme: httpx.Client) -> None:
    r = acme.post("/v2/nfce", params={"ref": "x", "forma_emissao": "papel"}, json=nfce_payload())
    assert r.status_code == 400
    assert r.json()["codigo"] == "forma_emissao_nao_informada"


def test_manual_offline_number_already_used_is_539(acme: httpx.Client) -> None:
    payload = nfce_payload(numero=15, serie=600, codigo_unico="12345678")
    acme.post("/v2/nfce", params={"ref": "a", "forma_emissao": "offline"}, json=payload)
    r = acme.post("/v2/nfce", params={"ref": "b", "forma_emissao": "offline"}, json=payload)
    assert r.json()["status_sefaz"] == "539"
