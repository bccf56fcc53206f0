"""NFSe Nacional: like NFSe, plus the 50-digit access key, `url_danfse`, E0014 on a DPS reused,
and enabling per environment."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from sandbox.chave import mod11_dv
from tests.sandbox.helpers import ACME, ALFA, delete, nfsen_payload

JUST = "Serviço cancelado a pedido do tomador"


def test_emission_and_consulta(acme: httpx.Client, control: httpx.Client) -> None:
    control.post("/config", json={"processing_delays": {"nfsen": 10}})
    r = acme.post("/v2/nfsen", params={"ref": "n1"}, json=nfsen_payload())
    assert r.status_code == 202
    assert r.json() == {"cnpj_prestador": ACME, "ref": "n1", "status": "processando_autorizacao"}
    assert acme.get("/v2/nfsen/n1").json() == {
        "cnpj_prestador": ACME,
        "ref": "n1",
        "numero_rps": "1",
        "serie_rps": "1",
        "tipo_rps": "1",
        "status": "processando_autorizacao",
    }
    control.post("/clock", json={"advance_seconds": 11})
    body = acme.get("/v2/nfsen/n1").json()
    assert body["status"] == "autorizado"
    chave = body["codigo_verificacao"]
    assert len(chave) == 50 and chave.isdigit()
    assert chave[:7] == "4106902" and chave[-1] == str(mod11_dv(chave[:49]))
    assert body["url"] == f"https://www.nfse.gov.br/consultapublica/?tpc=1&chave={chave}"
    danfse = httpx.get(body["url_danfse"])
    assert danfse.status_code == 200 and danfse.content.startswith(b"%PDF")
    xml = acme.get(body["caminho_xml_nota_fiscal"])
    assert xml.status_code == 200 and chave in xml.text


def test_first_validation_names_the_field(acme: httpx.Client) -> None:
    payload = nfsen_payload()
    del payload["codigo_municipio_emissora"]
    r = acme.post("/v2/nfsen", params={"ref": "x"}, json=payload)
    assert r.json() == {
        "codigo": "requisicao_invalida",
        "mensagem": 'Parâmetro "codigo_municipio_emissora" não informado',
    }


def test_reused_dps_is_e0014(acme: httpx.Client) -> None:
    acme.post("/v2/nfsen", params={"ref": "a"}, json=nfsen_payload(numero_dps=7, serie_dps=1))
    acme.post("/v2/nfsen", params={"ref": "b"}, json=nfsen_payload(numero_dps=7, serie_dps=1))
    assert acme.get("/v2/nfsen/a").json()["status"] == "autorizado"
    body = acme.get("/v2/nfsen/b").json()
    assert body["status"] == "erro_autorizacao"
    assert body["erros"][0]["codigo"] == "E0014"


def test_rejection_trigger_in_descricao_servico(acme: httpx.Client) -> None:
    acme.post(
        "/v2/nfsen",
        params={"ref": "r"},
        json=nfsen_payload(descricao_servico="SANDBOX:REJEITAR:E0312"),
    )
    assert acme.get("/v2/nfsen/r").json()["erros"][0]["codigo"] == "E0312"


def test_enabled_per_environment(focus: Callable[..., httpx.Client]) -> None:
    alfa_prod = focus("alfa-prod")  # habilita_nfsen_producao is not set for Alfa
    r = alfa_prod.post("/v2/nfsen", params={"ref": "x"}, json=nfsen_payload(ALFA))
    assert r.status_code == 400 and r.json()["codigo"] == "empresa_nao_habilitada"
    alfa_hom = focus("alfa-hom")
    assert (
        alfa_hom.post("/v2/nfsen", params={"ref": "x"}, json=nfsen_payload(ALFA)).status_code == 202
    )


def test_cancel_and_errors(acme: httpx.Client) -> None:
    acme.post("/v2/nfsen", params={"ref": "c"}, json=nfsen_payload())
    rejected = delete(acme, "/v2/nfsen/c", json={"justificativa": "SANDBOX:REJEITAR:E523 x"})
    assert rejected.json()["status"] == "erro_cancelamento"
    r = delete(acme, "/v2/nfsen/c", json={"justificativa": JUST})
    assert r.json() == {"status": "cancelado"}
    body = acme.get("/v2/nfsen/c").json()
    assert body["status"] == "cancelado"
    assert acme.get(body["caminho_xml_cancelamento"]).status_code == 200
    assert delete(acme, "/v2/nfsen/c", json={"justificativa": JUST}).json()["codigo"] == (
        "nfe_cancelada"
    )
