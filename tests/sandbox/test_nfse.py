"""NFSe (municipal): asynchronous emission, erros[{codigo, mensagem, correcao}], cancellation,
substitution, lotes_rps."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.sandbox.helpers import ACME, NORMAL, counters, delete, nfse_payload

JUST = "Serviço não foi prestado ao tomador"


def test_emission_is_asynchronous(acme: httpx.Client, control: httpx.Client) -> None:
    control.post("/config", json={"processing_delay": 60})
    r = acme.post("/v2/nfse", params={"ref": "s1"}, json=nfse_payload())
    assert r.status_code == 202
    assert r.json() == {"cnpj_prestador": ACME, "ref": "s1", "status": "processando_autorizacao"}
    assert acme.get("/v2/nfse/s1").json() == {
        "cnpj_prestador": ACME,
        "ref": "s1",
        "numero_rps": "1",
        "serie_rps": "1",
        "status": "processando_autorizacao",
    }
    control.post("/clock", json={"advance_seconds": 61})
    body = acme.get("/v2/nfse/s1").json()
    assert body["status"] == "autorizado"
    assert body["numero"] == "1"
    assert len(body["codigo_verificacao"]) == 8
    assert body["url"].startswith("http://127.0.0.1:")
    assert httpx.get(body["url"]).status_code == 200
    assert body["caminho_xml_nota_fiscal"].endswith("-nfse.xml")
    assert "/XMLsNFSe/" in body["caminho_xml_nota_fiscal"]
    assert counters(control, "s1", "nfse")["documents_created"] == 1


def test_rejection_trigger_in_discriminacao(acme: httpx.Client) -> None:
    payload = nfse_payload(discriminacao="Consultoria SANDBOX:REJEITAR:E999:Alíquota inválida")
    acme.post("/v2/nfse", params={"ref": "r"}, json=payload)
    assert acme.get("/v2/nfse/r").json() == {
        "cnpj_prestador": ACME,
        "ref": "r",
        "numero_rps": "1",
        "serie_rps": "1",
        "status": "erro_autorizacao",
        "erros": [{"codigo": "E999", "mensagem": "Alíquota inválida", "correcao": None}],
    }
    assert acme.post("/v2/nfse", params={"ref": "r"}, json=nfse_payload()).status_code == 202
    assert acme.get("/v2/nfse/r").json()["status"] == "autorizado"


def test_invalid_special_regime_is_e145(acme: httpx.Client) -> None:
    payload = nfse_payload()
    payload["regime_especial_tributacao"] = 99
    acme.post("/v2/nfse", params={"ref": "e"}, json=payload)
    assert acme.get("/v2/nfse/e").json()["erros"] == [
        {
            "codigo": "E145",
            "mensagem": "Regime Especial de Tributação ausente/inválido.",
            "correcao": None,
        }
    ]


def test_slow_trigger(acme: httpx.Client, control: httpx.Client) -> None:
    acme.post("/v2/nfse", params={"ref": "l"}, json=nfse_payload(discriminacao="SANDBOX:LENTO:30"))
    assert acme.get("/v2/nfse/l").json()["status"] == "processando_autorizacao"
    control.post("/clock", json={"advance_seconds": 31})
    assert acme.get("/v2/nfse/l").json()["status"] == "autorizado"


def test_first_validation(acme: httpx.Client) -> None:
    payload = nfse_payload()
    del payload["prestador"]["codigo_municipio"]
    r = acme.post("/v2/nfse", params={"ref": "v"}, json=payload)
    assert r.status_code == 400
    assert r.json() == {
        "codigo": "requisicao_invalida",
        "mensagem": 'Parâmetro "prestador.codigo_municipio" não informado',
    }


def test_prestador_must_be_the_tokens_company(acme: httpx.Client) -> None:
    r = acme.post("/v2/nfse", params={"ref": "v"}, json=nfse_payload(NORMAL))
    assert r.status_code == 403 and r.json()["codigo"] == "permissao_negada"


def test_company_not_enabled(focus: Callable[..., httpx.Client]) -> None:
    r = focus("normal-hom").post("/v2/nfse", params={"ref": "v"}, json=nfse_payload(NORMAL))
    assert r.status_code == 400 and r.json()["codigo"] == "empresa_nao_habilitada"


def test_ref_rules(acme: httpx.Client, control: httpx.Client) -> None:
    control.post("/config", json={"processing_delay": 60})
    acme.post("/v2/nfse", params={"ref": "d"}, json=nfse_payload())
    assert acme.post("/v2/nfse", params={"ref": "d"}, json=nfse_payload()).json()["codigo"] == (
        "em_processamento"
    )
    control.post("/process", json={})
    assert acme.post("/v2/nfse", params={"ref": "d"}, json=nfse_payload()).json()["codigo"] == (
        "nfe_autorizada"
    )


def test_cancel(acme: httpx.Client) -> None:
    acme.post("/v2/nfse", params={"ref": "c"}, json=nfse_payload())
    acme.get("/v2/nfse/c")
    r = delete(acme, "/v2/nfse/c", json={"justificativa": JUST})
    assert r.status_code == 200 and r.json() == {"status": "cancelado"}
    body = acme.get("/v2/nfse/c").json()
    assert body["status"] == "cancelado"
    assert acme.get(body["caminho_xml_cancelamento"]).status_code == 200
    again = delete(acme, "/v2/nfse/c", json={"justificativa": JUST})
    assert again.status_code == 400
    assert again.json() == {"codigo": "nfe_cancelada", "mensagem": "Nota Fiscal já cancelada"}


def test_cancel_rejected_is_erro_cancelamento(acme: httpx.Client) -> None:
    acme.post("/v2/nfse", params={"ref": "c"}, json=nfse_payload())
    r = delete(acme, "/v2/nfse/c", json={"justificativa": "SANDBOX:REJEITAR:E523 fora do prazo"})
    assert r.json() == {
        "status": "erro_cancelamento",
        "erros": [
            {
                "codigo": "E523",
                "mensagem": "nota que você está tentando cancelar está fora do prazo "
                "permitido para cancelamento",
                "correcao": None,
            }
        ],
    }
    assert acme.get("/v2/nfse/c").json()["status"] == "autorizado"


def test_cancel_not_authorized_is_400(acme: httpx.Client, control: httpx.Client) -> None:
    control.post("/config", json={"processing_delay": 60})
    acme.post("/v2/nfse", params={"ref": "p"}, json=nfse_payload())
    r = delete(acme, "/v2/nfse/p", json={"justificativa": JUST})
    assert r.status_code == 400 and r.json()["codigo"] == "nfe_nao_autorizada"


def test_prefeitura_down_holds_processing(acme: httpx.Client, control: httpx.Client) -> None:
    control.post("/sefaz", json={"uf": "PR", "down": True})
    acme.post("/v2/nfse", params={"ref": "d"}, json=nfse_payload())
    assert acme.get("/v2/nfse/d").json()["status"] == "processando_autorizacao"
    control.post("/sefaz", json={"uf": "PR", "down": False})
    assert acme.get("/v2/nfse/d").json()["status"] == "autorizado"


def test_substitution(acme: httpx.Client) -> None:
    acme.post("/v2/nfse", params={"ref": "old"}, json=nfse_payload())
    old = acme.get("/v2/nfse/old").json()
    payload = nfse_payload()
    payload["numero_nfse_substituida"] = old["numero"]
    acme.post("/v2/nfse", params={"ref": "new"}, json=payload)
    new = acme.get("/v2/nfse/new").json()
    assert new["numero_nfse_substituida"] == old["numero"]
    replaced = acme.get("/v2/nfse/old").json()
    assert replaced["status"] == "substituido"
    assert replaced["numero_nfse_substituta"] == new["numero"]


def test_email(acme: httpx.Client) -> None:
    acme.post("/v2/nfse", params={"ref": "m"}, json=nfse_payload())
    assert acme.post("/v2/nfse/m/email", json={"emails": ["a@b.com"]}).status_code == 200


# -- lotes RPS ---------------------------------------------------------------------------------

LOTE = {
    "prestador": {"cnpj": ACME, "inscricao_municipal": "12345", "codigo_municipio": "3516200"},
    "lista_nfse": [
        {
            "data_emissao": "2019-03-19T12:07:26-03:00",
            "natureza_operacao": 1,
            "servico": {
                "aliquota": 3,
                "discriminacao": "Serviços prestados",
                "iss_retido": "false",
                "item_lista_servico": "0107",
                "valor_servicos": 1.0,
            },
            "tomador": {"cnpj": "07504505000132", "razao_social": "Acras"},
        }
    ],
}


def test_lote_rps_create_get_and_resposta(acme: httpx.Client) -> None:
    r = acme.post("/v2/lotes_rps", params={"ref": "lote1"}, json=LOTE)
    assert r.status_code == 201
    assert r.headers["content-type"].startswith("text/plain")
    assert "RPS|1|1|" in r.text
    got = acme.get("/v2/lotes_rps/lote1")
    assert got.status_code == 200 and got.text == r.text
    assert acme.get("/v2/lotes_rps/other").status_code == 404
    resposta = acme.post("/v2/lotes_rps/lote1/resposta", content=b"arquivo de retorno")
    assert resposta.status_code == 201
    assert set(resposta.json()) == {"status", "numero", "codigo_verificacao", "data_emissao", "uri"}


def test_lote_rps_validation(acme: httpx.Client) -> None:
    assert (
        acme.post(
            "/v2/lotes_rps", params={"ref": "l"}, json={"prestador": LOTE["prestador"]}
        ).status_code
        == 422
    )
    assert acme.post("/v2/lotes_rps", params={"ref": "l"}, content=b"{oops").status_code == 415
    other = {**LOTE, "prestador": {**LOTE["prestador"], "cnpj": NORMAL}}
    assert acme.post("/v2/lotes_rps", params={"ref": "l"}, json=other).status_code == 400
