"""GET /v2/<nfe|nfce>/inutilizacoes in the sandbox: the ranges the token voided, filtered as
Focus documents (FocusNFe/api-doc _nfe.md "Consulta de XMLs de numerações inutilizadas")."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from tests.sandbox.helpers import ACME, NORMAL

JUST = "Numeracao pulada por falha no sistema"


def _inutilizar(client: httpx.Client, inicio: int, fim: int, doc: str = "nfe") -> dict:
    response = client.post(f"/v2/{doc}/inutilizacao", json={
        "cnpj": ACME, "serie": "1", "numero_inicial": str(inicio), "numero_final": str(fim),
        "justificativa": JUST,
    })
    assert response.status_code == 200, response.text
    return response.json()


def test_listing_answers_the_voided_ranges_as_focus_does(acme: httpx.Client,
                                                          focus) -> None:  # type: ignore[no-untyped-def]
    first = _inutilizar(acme, 10, 12)
    _inutilizar(acme, 12, 13)  # 256: voided nothing, not listed
    second = _inutilizar(acme, 20, 20)
    _inutilizar(acme, 5, 5, doc="nfce")

    listed = acme.get("/v2/nfe/inutilizacoes", params={"cnpj": ACME})
    assert listed.status_code == 200
    assert listed.json() == [
        {k: first[k] for k in ("status_sefaz", "mensagem_sefaz", "cnpj", "modelo", "serie",
                               "numero_inicial", "numero_final", "status", "caminho_xml",
                               "protocolo_sefaz")},
        {k: second[k] for k in first},
    ]
    assert [i["modelo"] for i in acme.get("/v2/nfce/inutilizacoes",
                                          params={"cnpj": ACME}).json()] == ["65"]
    # The ranges that reach into [numero_inicial, numero_final].
    assert [i["numero_inicial"] for i in acme.get(
        "/v2/nfe/inutilizacoes", params={"cnpj": ACME, "numero_inicial": "12"}).json()] == [
        "10", "20"]
    assert [i["numero_inicial"] for i in acme.get(
        "/v2/nfe/inutilizacoes", params={"cnpj": ACME, "numero_final": "15"}).json()] == ["10"]
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    assert acme.get("/v2/nfe/inutilizacoes", params={
        "cnpj": ACME, "data_recebimento_inicial": tomorrow}).json() == []
    # The production token sees none of the homologação ranges.
    assert focus("acme-prod").get("/v2/nfe/inutilizacoes", params={"cnpj": ACME}).json() == []


def test_listing_refuses_a_missing_document_or_bad_filters(acme: httpx.Client) -> None:
    missing = acme.get("/v2/nfe/inutilizacoes")
    assert missing.status_code == 400
    assert missing.json() == {"codigo": "requisicao_invalida",
                              "mensagem": 'Parâmetro "cnpj" ou "cpf" inválidos ou não informados'}
    assert acme.get("/v2/nfe/inutilizacoes", params={"cnpj": NORMAL}).status_code == 403
    for bad in ({"numero_inicial": "dez"}, {"data_recebimento_final": "31/12/2026"}):
        response = acme.get("/v2/nfe/inutilizacoes", params={"cnpj": ACME, **bad})
        assert response.status_code == 400 and response.json()["codigo"] == "requisicao_invalida"
