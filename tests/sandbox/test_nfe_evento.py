"""POST /v2/nfe/REF/evento in the sandbox: each row of Focus's table (FocusNFe/api-doc _nfe.md
"Eventos") and the event's XML."""

from __future__ import annotations

import httpx

from tests.sandbox.helpers import delete, nfe_payload

TIPO = "prorrogacao_suspensao_icms"
JUST = "Cancelamento por erro de digitação no pedido"


def _authorized(acme: httpx.Client, ref: str = "e") -> dict:
    acme.post("/v2/nfe", params={"ref": ref}, json=nfe_payload())
    consulta = acme.get(f"/v2/nfe/{ref}").json()
    assert consulta["status"] == "autorizado", consulta
    return consulta


def test_prorrogacao_is_registered_numbered_and_its_xml_served(acme: httpx.Client,
                                                               control: httpx.Client) -> None:
    chave = _authorized(acme)["chave_nfe"][3:]
    first = acme.post("/v2/nfe/e/evento", json={
        "tipo_evento": TIPO, "itens_pedido": [{"numero_item": 1, "quantidade_item": 1.0}]})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body == {
        "status_sefaz": "135", "mensagem_sefaz": "Evento registrado e vinculado a NF-e",
        "status": "autorizado",
        f"caminho_xml_evento_{TIPO}": body[f"caminho_xml_evento_{TIPO}"],
        f"numero_evento_{TIPO}": 1,
    }
    path = body[f"caminho_xml_evento_{TIPO}"]
    assert path.startswith("/arquivos_development/") and path.endswith(f"{chave}-pro-icms-01.xml")
    xml = acme.get(path)
    assert xml.status_code == 200
    assert "<tpEvento>111500</tpEvento>" in xml.text and '<itemPedido numItem="1">' in xml.text
    second = acme.post("/v2/nfe/e/evento", json={"tipo_evento": TIPO}).json()
    assert second[f"numero_evento_{TIPO}"] == 2
    assert second[f"caminho_xml_evento_{TIPO}"].endswith("-pro-icms-02.xml")
    [doc] = control.get("/documents").json()["documents"]
    assert doc["eventos"] == [{"tipo_evento": TIPO, "numero": 1},
                              {"tipo_evento": TIPO, "numero": 2}]


def test_evento_error_rows_of_focus_table(acme: httpx.Client, control: httpx.Client) -> None:
    missing = acme.post("/v2/nfe/x/evento", json={"tipo_evento": TIPO})
    assert missing.status_code == 404
    _authorized(acme, "autorizada")
    control.post("/sefaz", json={"uf": "PR", "down": True})
    acme.post("/v2/nfe", params={"ref": "recusada"}, json=nfe_payload())
    control.post("/process", json={})
    nao = acme.post("/v2/nfe/recusada/evento", json={"tipo_evento": TIPO})
    assert nao.status_code == 400
    assert nao.json() == {"codigo": "nfe_nao_autorizada", "mensagem": "Nota fiscal não autorizada."}
    # Erro Sefaz: 200 erro_autorizacao naming the event.
    sefaz = acme.post("/v2/nfe/autorizada/evento", json={"tipo_evento": TIPO})
    assert sefaz.status_code == 200
    assert sefaz.json() == {"evento": f"evento_{TIPO}", "status_sefaz": "108",
                            "mensagem_sefaz": sefaz.json()["mensagem_sefaz"],
                            "status": "erro_autorizacao"}
    control.post("/sefaz", json={"uf": "PR", "down": False})
    sem = acme.post("/v2/nfe/autorizada/evento", json={})
    assert sem.status_code == 400
    assert sem.json() == {"codigo": "requisicao_invalida",
                          "mensagem": 'Parâmetro "tipo_evento" não informado'}
    unknown = acme.post("/v2/nfe/autorizada/evento", json={"tipo_evento": "nao_existe"})
    assert unknown.status_code == 400 and unknown.json()["codigo"] == "requisicao_invalida"
    bad_items = acme.post("/v2/nfe/autorizada/evento",
                          json={"tipo_evento": TIPO, "itens_pedido": [{"numero_item": 99}]})
    assert bad_items.status_code == 400
    assert delete(acme, "/v2/nfe/autorizada", json={"justificativa": JUST}).status_code == 200
    cancelled = acme.post("/v2/nfe/autorizada/evento", json={"tipo_evento": TIPO})
    assert cancelled.status_code == 422
    assert cancelled.json() == {"codigo": "already_processed",
                                "mensagem": "A nota fiscal foi cancelada"}
