"""NFe events and side endpoints: CCe, ator interessado, insucesso, e-mail, inutilização,
importação, DANFe preview."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.sandbox.helpers import ACME, NORMAL, delete, nfe_payload

JUST = "Numeração pulada por falha no sistema"


def _authorized(acme: httpx.Client, ref: str = "e") -> dict:
    acme.post("/v2/nfe", params={"ref": ref}, json=nfe_payload())
    return acme.get(f"/v2/nfe/{ref}").json()


# -- carta de correção -------------------------------------------------------------------------


def test_cce_numbers_up_to_20_and_the_last_is_valid(acme: httpx.Client) -> None:
    note = _authorized(acme)
    chave = note["chave_nfe"][3:]
    for n in range(1, 21):
        r = acme.post("/v2/nfe/e/carta_correcao", json={"correcao": f"Correção número {n:02d}"})
        assert r.status_code == 200
        assert r.json()["numero_carta_correcao"] == n
    assert r.json() == {
        "status_sefaz": "135",
        "mensagem_sefaz": "Evento registrado e vinculado a NF-e",
        "status": "autorizado",
        "caminho_xml_carta_correcao": note["caminho_xml_nota_fiscal"].replace(
            "-nfe.xml", "-cce-20.xml"
        ),
        "caminho_pdf_carta_correcao": f"/notas_fiscais/NFe{chave}/cartas_correcao/20.pdf",
        "numero_carta_correcao": 20,
    }
    over = acme.post("/v2/nfe/e/carta_correcao", json={"correcao": "Vigésima primeira correção"})
    assert over.json()["status"] == "erro_autorizacao"
    assert over.json()["status_sefaz"] == "594"
    body = acme.get("/v2/nfe/e").json()
    assert body["numero_carta_correcao"] == 20
    assert body["status_sefaz"] == "135"
    full = acme.get("/v2/nfe/e", params={"completa": 1}).json()
    assert full["requisicao_carta_correcao"]["correcao"] == "Correção número 20"
    assert full["protocolo_carta_correcao"]["tipo_evento"] == "110110"


def test_cce_requires_correcao(acme: httpx.Client) -> None:
    _authorized(acme)
    r = acme.post("/v2/nfe/e/carta_correcao", json={})
    assert r.status_code == 400
    assert r.json()["mensagem"] == 'Parâmetro "correcao" não informado'
    short = acme.post("/v2/nfe/e/carta_correcao", json={"correcao": "curta"})
    assert short.status_code == 400


def test_cce_on_a_cancelled_note_is_refused(acme: httpx.Client) -> None:
    _authorized(acme)
    delete(acme, "/v2/nfe/e", json={"justificativa": JUST})
    r = acme.post("/v2/nfe/e/carta_correcao", json={"correcao": "Correção de endereço"})
    assert r.status_code == 400
    assert r.json()["codigo"] == "nfe_cancelada"


def test_cce_rejection_trigger(acme: httpx.Client) -> None:
    _authorized(acme)
    r = acme.post("/v2/nfe/e/carta_correcao", json={"correcao": "SANDBOX:REJEITAR:573 correção"})
    assert r.json()["status"] == "erro_autorizacao"
    assert "numero_carta_correcao" not in acme.get("/v2/nfe/e").json()


# -- ator interessado --------------------------------------------------------------------------


def test_ator_interessado_within_six_months(acme: httpx.Client, control: httpx.Client) -> None:
    note = _authorized(acme)
    control.post("/clock", json={"advance_seconds": 150 * 24 * 3600})
    r = acme.post(
        "/v2/nfe/e/ator_interessado",
        json={"cpf": "03055054911", "permite_autorizacao_terceiros": True},
    )
    assert r.status_code == 200
    assert r.json() == {
        "status_sefaz": "135",
        "mensagem_sefaz": "Evento registrado e vinculado a NF-e",
        "status": "autorizado",
        "caminho_xml_evento_ator_interessado": note["caminho_xml_nota_fiscal"].replace(
            "-nfe.xml", "-ato-01.xml"
        ),
        "numero_evento_ator_interessado": 1,
    }
    xml = acme.get(r.json()["caminho_xml_evento_ator_interessado"])
    assert "<tpEvento>110150</tpEvento>" in xml.text


def test_ator_interessado_after_six_months_is_rejected(
    acme: httpx.Client, control: httpx.Client
) -> None:
    _authorized(acme)
    control.post("/clock", json={"advance_seconds": 186 * 24 * 3600})
    r = acme.post("/v2/nfe/e/ator_interessado", json={"cnpj": NORMAL})
    assert r.json()["status"] == "erro_autorizacao"


def test_ator_interessado_requires_a_document(acme: httpx.Client) -> None:
    _authorized(acme)
    r = acme.post("/v2/nfe/e/ator_interessado", json={"permite_autorizacao_terceiros": True})
    assert r.status_code == 400
    assert r.json() == {
        "codigo": "requisicao_invalida",
        "mensagem": "Por favor, informe o CNPJ ou CPF do ator interessado.",
    }


# -- insucesso de entrega ----------------------------------------------------------------------

INSUCESSO = {
    "data_tentativa_entrega": "2024-07-24T10:30:56-0300",
    "numero_tentativas": 4,
    "motivo_insucesso": 4,
    "justificativa_insucesso": "Não foi possível realizar a entrega por erro no endereço.",
    "latitude_entrega": "-25.428400",
    "longitude_entrega": "-49.273300",
    "hash_tentativa_entrega": "yzmPGyT1YM5KqilP56w+oPlVkx8=",
    "data_hash_tentativa": "2024-07-24T10:55:56-0300",
}


def test_insucesso_and_its_cancellation(acme: httpx.Client) -> None:
    note = _authorized(acme)
    none_yet = delete(acme, "/v2/nfe/e/insucesso_entrega")
    assert none_yet.status_code == 422
    assert none_yet.json() == {
        "codigo": "pending_operation",
        "mensagem": "Nota não possui evento de insucesso de entrega.",
    }
    r = acme.post("/v2/nfe/e/insucesso_entrega", json=INSUCESSO)
    assert r.json() == {
        "status_sefaz": "135",
        "mensagem_sefaz": "Evento registrado e vinculado a NF-e",
        "status": "autorizado",
        "caminho_xml_insucesso_entrega": note["caminho_xml_nota_fiscal"].replace(
            "-nfe.xml", "-ie.xml"
        ),
        "numero_insucesso_entrega": 1,
    }
    c = delete(acme, "/v2/nfe/e/insucesso_entrega")
    assert c.json() == {
        "status_sefaz": "135",
        "mensagem_sefaz": "Evento registrado e vinculado a NF-e",
        "status": "autorizado",
        "caminho_xml_cancelamento_insucesso_entrega": note["caminho_xml_nota_fiscal"].replace(
            "-nfe.xml", "-ie-can.xml"
        ),
        "numero_cancelamento_insucesso_entrega": 1,
    }
    assert acme.get(c.json()["caminho_xml_cancelamento_insucesso_entrega"]).status_code == 200
    assert delete(acme, "/v2/nfe/e/insucesso_entrega").status_code == 422


def test_insucesso_requires_the_attempt_date(acme: httpx.Client) -> None:
    _authorized(acme)
    r = acme.post("/v2/nfe/e/insucesso_entrega", json={"motivo_insucesso": 1})
    assert r.status_code == 400
    assert r.json() == {
        "codigo": "requisicao_invalida",
        "mensagem": "Por favor, informe a data da tentativa de entrega.",
    }


# -- e-mail ------------------------------------------------------------------------------------


def test_email_resend_is_recorded(acme: httpx.Client, control: httpx.Client) -> None:
    _authorized(acme)
    r = acme.post("/v2/nfe/e/email", json={"emails": ["a@example.com", "b@example.com"]})
    assert r.status_code == 200
    sent = control.get("/emails").json()["emails"]
    assert sent[0]["emails"] == ["a@example.com", "b@example.com"]
    assert sent[0]["ref"] == "e"


@pytest.mark.parametrize("emails", [None, "a@example.com", [f"{i}@x.com" for i in range(11)]])
def test_email_validation(acme: httpx.Client, emails: object) -> None:
    _authorized(acme)
    body = {} if emails is None else {"emails": emails}
    assert acme.post("/v2/nfe/e/email", json=body).status_code == 400


def test_email_for_unknown_note_is_404(acme: httpx.Client) -> None:
    assert acme.post("/v2/nfe/x/email", json={"emails": ["a@b.com"]}).status_code == 404


# -- inutilização ------------------------------------------------------------------------------


def _inutilizar(
    client: httpx.Client,
    inicio: int,
    fim: int,
    *,
    doc: str = "nfe",
    cnpj: str = ACME,
    serie: int = 1,
) -> httpx.Response:
    return client.post(
        f"/v2/{doc}/inutilizacao",
        json={
            "cnpj": cnpj,
            "serie": str(serie),
            "numero_inicial": str(inicio),
            "numero_final": str(fim),
            "justificativa": JUST,
        },
    )


def test_inutilizacao_102_then_256_and_241(acme: httpx.Client) -> None:
    r = _inutilizar(acme, 10, 12)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "autorizado" and body["status_sefaz"] == "102"
    assert body["mensagem_sefaz"] == "Inutilizacao de numero homologado"
    assert (body["serie"], body["numero_inicial"], body["numero_final"]) == ("1", "10", "12")
    assert body["modelo"] == "55" and body["cnpj"] == ACME
    assert body["caminho_xml"].endswith(f"{ACME}55001000000010000000012-inu.xml")
    assert "<xServ>INUTILIZAR</xServ>" in acme.get(body["caminho_xml"]).text
    again = _inutilizar(acme, 12, 13).json()
    assert again == {
        "status_sefaz": "256",
        "mensagem_sefaz": "Uma NF-e da faixa ja esta inutilizada na Base de dados da SEFAZ",
        "serie": "1",
        "numero_inicial": "12",
        "numero_final": "13",
        "status": "erro_autorizacao",
    }
    _authorized(acme)  # takes número 1
    used = _inutilizar(acme, 1, 3).json()
    assert (used["status_sefaz"], used["mensagem_sefaz"]) == (
        "241",
        "Um numero da faixa ja foi utilizado",
    )


def test_numbering_skips_voided_numbers(acme: httpx.Client) -> None:
    _inutilizar(acme, 1, 2)
    assert _authorized(acme)["numero"] == "3"


def test_inutilizacao_nfce_is_modelo_65(acme: httpx.Client) -> None:
    body = _inutilizar(acme, 1, 9, doc="nfce").json()
    assert body["modelo"] == "65" and body["status_sefaz"] == "102"


def test_inutilizacao_validation(acme: httpx.Client) -> None:
    r = acme.post("/v2/nfe/inutilizacao", json={"cnpj": ACME, "serie": "1"})
    assert r.status_code == 400
    assert r.json()["mensagem"] == 'Parâmetro "numero_inicial" não informado'
    assert _inutilizar(acme, 5, 1).status_code == 400
    assert _inutilizar(acme, 1, 2, cnpj=NORMAL).status_code == 403


# -- importação --------------------------------------------------------------------------------


def test_importacao_of_an_xml_creates_an_authorized_note(
    acme: httpx.Client, focus: Callable[..., httpx.Client], control: httpx.Client
) -> None:
    prod = focus("acme-prod")
    source = _authorized(acme, "orig")
    xml = acme.get(source["caminho_xml_nota_fiscal"]).content
    r = prod.post("/v2/nfe/importacao", content=xml, headers={"Content-Type": "application/xml"})
    assert r.status_code == 201
    body = r.json()
    assert body["ref"] == source["chave_nfe"]
    assert body["status"] == "autorizado"
    assert body["chave_nfe"] == source["chave_nfe"]
    assert prod.get(body["caminho_xml_nota_fiscal"]).content == xml
    assert prod.get(f"/v2/nfe/{body['ref']}").json()["numero"] == source["numero"]
    # Issued elsewhere: not a fiscal document this sandbox created.
    assert control.get("/counters", params={"ref": body["ref"]}).json()["counters"] == []


def test_importacao_with_ref_then_cancel(focus: Callable[..., httpx.Client]) -> None:
    acme = focus("acme-hom")
    source = _authorized(acme, "orig")
    xml = acme.get(source["caminho_xml_nota_fiscal"]).content
    prod = focus("acme-prod")
    assert prod.post("/v2/nfe/importacao", params={"ref": "imp"}, content=xml).status_code == 201
    r = delete(prod, "/v2/nfe/imp", json={"justificativa": JUST})
    assert r.json()["status"] == "cancelado"


def test_importacao_of_garbage_is_erro_validacao_xml(acme: httpx.Client) -> None:
    r = acme.post("/v2/nfe/importacao", content=b"<nfeProc><oops")
    assert r.status_code == 422
    assert r.json()["codigo"] == "erro_validacao_xml"


def test_importacao_of_another_companys_xml_is_403(
    acme: httpx.Client, focus: Callable[..., httpx.Client]
) -> None:
    normal = focus("normal-hom")
    payload = nfe_payload(NORMAL)
    payload["items"][0]["icms_situacao_tributaria"] = "41"
    normal.post("/v2/nfe", params={"ref": "n"}, json=payload)
    xml = normal.get(normal.get("/v2/nfe/n").json()["caminho_xml_nota_fiscal"]).content
    assert acme.post("/v2/nfe/importacao", content=xml).status_code == 403


# -- DANFe preview -----------------------------------------------------------------------------


def test_danfe_preview_from_json_is_a_pdf(acme: httpx.Client) -> None:
    r = acme.post("/v2/nfe/danfe", json=nfe_payload())
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-1.4") and r.content.rstrip().endswith(b"%%EOF")
    assert acme.get("/__sandbox__/counters").json()["counters"] == []


def test_danfe_preview_from_xml(acme: httpx.Client) -> None:
    xml = acme.get(_authorized(acme)["caminho_xml_nota_fiscal"]).content
    r = acme.post("/v2/nfe/danfe", content=xml)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")


def test_danfe_preview_validates_like_emission(acme: httpx.Client) -> None:
    payload = nfe_payload()
    del payload["items"]
    assert acme.post("/v2/nfe/danfe", json=payload).status_code == 400
