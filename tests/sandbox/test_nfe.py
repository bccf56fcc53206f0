"""NFe emission, processing, consulta, ref rules, numbering, chave, cancellation."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from sandbox.chave import UF_CODES, build_chave, chave_is_valid
from tests.sandbox.helpers import (
    ACME,
    ALFA,
    NORMAL,
    PRODUTOR_CPF,
    SYNC,
    SYNC_SP,
    counters,
    delete,
    nfe_payload,
)


def test_post_accepts_for_processing_and_get_settles(acme: httpx.Client) -> None:
    r = acme.post("/v2/nfe", params={"ref": "n1"}, json=nfe_payload())
    assert r.status_code == 202
    assert r.json() == {"cnpj_emitente": ACME, "ref": "n1", "status": "processando_autorizacao"}
    body = acme.get("/v2/nfe/n1").json()
    assert body["status"] == "autorizado"
    assert body["status_sefaz"] == "100"
    assert body["mensagem_sefaz"] == "Autorizado o uso da NF-e"
    assert body["numero"] == "1" and body["serie"] == "1"


def test_processing_delay_keeps_note_processing_until_due(
    acme: httpx.Client, control: httpx.Client
) -> None:
    control.post("/config", json={"processing_delay": 3600})
    acme.post("/v2/nfe", params={"ref": "slow"}, json=nfe_payload())
    assert acme.get("/v2/nfe/slow").json() == {
        "cnpj_emitente": ACME,
        "ref": "slow",
        "status": "processando_autorizacao",
    }
    control.post("/clock", json={"advance_seconds": 3601})
    assert acme.get("/v2/nfe/slow").json()["status"] == "autorizado"


def test_process_endpoint_settles_pending_notes_now(
    acme: httpx.Client, control: httpx.Client
) -> None:
    control.post("/config", json={"processing_delays": {"nfe": 3600}})
    acme.post("/v2/nfe", params={"ref": "p1"}, json=nfe_payload())
    settled = control.post("/process", json={}).json()["settled"]
    assert settled == [{"doc_type": "nfe", "ref": "p1", "status": "autorizado"}]


def test_lento_trigger_delays_processing(acme: httpx.Client, control: httpx.Client) -> None:
    payload = nfe_payload(informacoes_adicionais_contribuinte="SANDBOX:LENTO:600")
    acme.post("/v2/nfe", params={"ref": "lento"}, json=payload)
    assert acme.get("/v2/nfe/lento").json()["status"] == "processando_autorizacao"
    control.post("/clock", json={"advance_seconds": 601})
    assert acme.get("/v2/nfe/lento").json()["status"] == "autorizado"


def test_rejeitar_trigger_gives_erro_autorizacao_with_that_code(acme: httpx.Client) -> None:
    payload = nfe_payload(informacoes_adicionais_contribuinte="x SANDBOX:REJEITAR:778 y")
    acme.post("/v2/nfe", params={"ref": "rej"}, json=payload)
    body = acme.get("/v2/nfe/rej").json()
    assert body == {
        "cnpj_emitente": ACME,
        "ref": "rej",
        "status": "erro_autorizacao",
        "status_sefaz": "778",
        "mensagem_sefaz": "Rejeicao: Informado NCM inexistente",
    }


def test_rejeitar_trigger_with_custom_message(acme: httpx.Client) -> None:
    payload = nfe_payload(informacoes_adicionais_contribuinte="SANDBOX:REJEITAR:999:Erro inventado")
    acme.post("/v2/nfe", params={"ref": "rej2"}, json=payload)
    body = acme.get("/v2/nfe/rej2").json()
    assert (body["status_sefaz"], body["mensagem_sefaz"]) == ("999", "Erro inventado")


def test_denegar_trigger_keeps_number_and_xml_without_danfe(acme: httpx.Client) -> None:
    payload = nfe_payload(informacoes_adicionais_contribuinte="SANDBOX:DENEGAR")
    acme.post("/v2/nfe", params={"ref": "den"}, json=payload)
    body = acme.get("/v2/nfe/den").json()
    assert body["status"] == "denegado"
    assert body["status_sefaz"] == "302"
    assert body["numero"] == "1" and chave_is_valid(body["chave_nfe"][3:])
    assert "caminho_danfe" not in body
    assert acme.get(body["caminho_xml_nota_fiscal"]).status_code == 200


def test_homologacao_requires_the_fixed_recipient_name_598(acme: httpx.Client) -> None:
    acme.post("/v2/nfe", params={"ref": "h1"}, json=nfe_payload(nome_destinatario="Fulano"))
    body = acme.get("/v2/nfe/h1").json()
    assert body["status"] == "erro_autorizacao"
    assert body["status_sefaz"] == "598"
    assert body["mensagem_sefaz"] == (
        "NF-e emitida em ambiente de homologacao com Razao Social do destinatario diferente de "
        "NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL"
    )


def test_producao_accepts_any_recipient_name(focus: Callable[..., httpx.Client]) -> None:
    prod = focus("acme-prod")
    prod.post("/v2/nfe", params={"ref": "p1"}, json=nfe_payload(nome_destinatario="Fulano"))
    body = prod.get("/v2/nfe/p1").json()
    assert body["status"] == "autorizado"
    assert body["caminho_xml_nota_fiscal"].startswith(f"/arquivos/{ACME}/")


def test_csosn_for_a_non_simples_company_is_591(focus: Callable[..., httpx.Client]) -> None:
    normal = focus("normal-hom")
    normal.post("/v2/nfe", params={"ref": "c1"}, json=nfe_payload(NORMAL))
    body = normal.get("/v2/nfe/c1").json()
    assert body["status_sefaz"] == "591"
    assert body["mensagem_sefaz"] == (
        "Informado CSOSN para emissor que nao e do Simples Nacional (CRT diferente de 1). [nItem:1]"
    )


def test_cst_for_a_non_simples_company_is_authorized(focus: Callable[..., httpx.Client]) -> None:
    normal = focus("normal-hom")
    payload = nfe_payload(NORMAL)
    payload["items"][0]["icms_situacao_tributaria"] = "41"
    normal.post("/v2/nfe", params={"ref": "c2"}, json=payload)
    assert normal.get("/v2/nfe/c2").json()["status"] == "autorizado"


def test_missing_recipient_document_is_a_schema_error(acme: httpx.Client) -> None:
    payload = nfe_payload()
    del payload["cpf_destinatario"]
    r = acme.post("/v2/nfe", params={"ref": "s1"}, json=payload)
    assert r.status_code == 422
    assert r.json() == {
        "codigo": "erro_validacao_schema",
        "mensagem": "Erro na validação do Schema XML, verifique o detalhamento dos erros",
        "erros": [
            {
                "mensagem": "Preencha pelo menos um documento do destinatário: "
                "cnpj_destinatario ou cpf_destinatario",
                "campo": None,
            }
        ],
    }
    assert acme.get("/v2/nfe/s1").status_code == 404


@pytest.mark.parametrize(
    ("field", "param"),
    [
        ("natureza_operacao", "natureza_operacao"),
        ("items", "items"),
    ],
)
def test_missing_required_field_is_400(acme: httpx.Client, field: str, param: str) -> None:
    payload = nfe_payload()
    del payload[field]
    r = acme.post("/v2/nfe", params={"ref": "m"}, json=payload)
    assert r.status_code == 400
    assert r.json() == {
        "codigo": "requisicao_invalida",
        "mensagem": f'Parâmetro "{param}" não informado',
    }


def test_missing_item_field_names_it(acme: httpx.Client) -> None:
    payload = nfe_payload()
    del payload["items"][0]["cfop"]
    r = acme.post("/v2/nfe", params={"ref": "m"}, json=payload)
    assert r.json()["mensagem"] == 'Parâmetro "items[0].cfop" não informado'


def test_missing_ref_is_400(acme: httpx.Client) -> None:
    r = acme.post("/v2/nfe", json=nfe_payload())
    assert r.status_code == 400
    assert r.json()["mensagem"] == 'Parâmetro "ref" não informado'


def test_ref_with_special_characters_is_refused(acme: httpx.Client) -> None:
    assert acme.post("/v2/nfe", params={"ref": "a b"}, json=nfe_payload()).status_code == 400


def test_emitter_of_another_company_is_403(acme: httpx.Client) -> None:
    r = acme.post("/v2/nfe", params={"ref": "x"}, json=nfe_payload(NORMAL))
    assert r.status_code == 403
    assert r.json() == {
        "codigo": "permissao_negada",
        "mensagem": "CNPJ do emitente não autorizado.",
    }


def test_missing_emitter_is_400(acme: httpx.Client) -> None:
    payload = nfe_payload()
    del payload["cnpj_emitente"]
    r = acme.post("/v2/nfe", params={"ref": "x"}, json=payload)
    assert r.status_code == 400
    assert r.json()["mensagem"] == "CNPJ do emitente não autorizado ou não informado."


def test_company_not_enabled_for_the_type_is_400(
    focus: Callable[..., httpx.Client], control: httpx.Client
) -> None:
    control.post("/config", json={"companies": {ACME: {"habilita_nfe": False}}})
    r = focus("acme-hom").post("/v2/nfe", params={"ref": "x"}, json=nfe_payload())
    assert r.status_code == 400
    assert r.json()["codigo"] == "empresa_nao_habilitada"


def test_ref_in_processing_is_422_em_processamento(
    acme: httpx.Client, control: httpx.Client
) -> None:
    control.post("/config", json={"processing_delay": 3600})
    acme.post("/v2/nfe", params={"ref": "dup"}, json=nfe_payload())
    r = acme.post("/v2/nfe", params={"ref": "dup"}, json=nfe_payload())
    assert r.status_code == 422
    assert r.json() == {"codigo": "em_processamento", "mensagem": "Nota fiscal em processamento"}
    control.post("/process", json={})
    assert counters(control, "dup") == {
        "token": "acme-hom",
        "doc_type": "nfe",
        "ref": "dup",
        "posts": 2,
        "documents_created": 1,
        "contingency_documents": 0,
        "duplicates": 0,
    }


@pytest.mark.parametrize("trigger", ["", "SANDBOX:DENEGAR"])
def test_authorized_or_denied_ref_is_never_reused(acme: httpx.Client, trigger: str) -> None:
    payload = nfe_payload(informacoes_adicionais_contribuinte=trigger)
    acme.post("/v2/nfe", params={"ref": "used"}, json=payload)
    acme.get("/v2/nfe/used")
    r = acme.post("/v2/nfe", params={"ref": "used"}, json=nfe_payload())
    assert r.status_code == 422
    assert r.json() == {"codigo": "nfe_autorizada", "mensagem": "Nota fiscal já autorizada"}


def test_cancelled_ref_is_never_reused(acme: httpx.Client) -> None:
    acme.post("/v2/nfe", params={"ref": "c"}, json=nfe_payload())
    acme.get("/v2/nfe/c")
    delete(acme, "/v2/nfe/c", json={"justificativa": "Cancelamento por erro de digitação"})
    r = acme.post("/v2/nfe", params={"ref": "c"}, json=nfe_payload())
    assert r.json()["codigo"] == "nfe_autorizada"


def test_ref_is_reusable_after_erro_autorizacao(acme: httpx.Client, control: httpx.Client) -> None:
    acme.post("/v2/nfe", params={"ref": "again"}, json=nfe_payload(nome_destinatario="X"))
    assert acme.get("/v2/nfe/again").json()["status"] == "erro_autorizacao"
    assert acme.post("/v2/nfe", params={"ref": "again"}, json=nfe_payload()).status_code == 202
    body = acme.get("/v2/nfe/again").json()
    assert body["status"] == "autorizado"
    assert body["numero"] == "1"  # a rejected note takes no number
    assert counters(control, "again")["posts"] == 2
    assert counters(control, "again")["documents_created"] == 1


def test_ref_is_unique_per_token_and_type(focus: Callable[..., httpx.Client]) -> None:
    hom, prod = focus("acme-hom"), focus("acme-prod")
    assert hom.post("/v2/nfe", params={"ref": "same"}, json=nfe_payload()).status_code == 202
    assert (
        prod.post(
            "/v2/nfe", params={"ref": "same"}, json=nfe_payload(nome_destinatario="Cliente")
        ).status_code
        == 202
    )
    assert prod.get("/v2/nfe/same").json()["status"] == "autorizado"
    assert hom.get("/v2/nfe/same").json()["status"] == "autorizado"
    assert hom.get("/v2/nfce/same").status_code == 404


def test_numbering_is_per_company_serie_and_environment(focus: Callable[..., httpx.Client]) -> None:
    hom, prod = focus("acme-hom"), focus("acme-prod")
    for i in range(3):
        hom.post("/v2/nfe", params={"ref": f"h{i}"}, json=nfe_payload())
    hom.post("/v2/nfe", params={"ref": "s2"}, json=nfe_payload(serie=2))
    prod.post("/v2/nfe", params={"ref": "p0"}, json=nfe_payload(nome_destinatario="C"))
    alfa = focus("alfa-hom")
    alfa.post("/v2/nfe", params={"ref": "a0"}, json=nfe_payload(ALFA))
    assert [hom.get(f"/v2/nfe/h{i}").json()["numero"] for i in range(3)] == ["1", "2", "3"]
    assert hom.get("/v2/nfe/s2").json()[("numero")] == "1"
    assert hom.get("/v2/nfe/s2").json()["serie"] == "2"
    assert prod.get("/v2/nfe/p0").json()["numero"] == "1"
    assert alfa.get("/v2/nfe/a0").json()["numero"] == "1"


def test_client_chosen_number_already_used_is_539(acme: httpx.Client) -> None:
    acme.post("/v2/nfe", params={"ref": "a"}, json=nfe_payload(numero=7))
    acme.post("/v2/nfe", params={"ref": "b"}, json=nfe_payload(numero=7))
    assert acme.get("/v2/nfe/a").json()["numero"] == "7"
    assert acme.get("/v2/nfe/b").json()["status_sefaz"] == "539"


def test_chave_is_built_from_its_parts(acme: httpx.Client) -> None:
    acme.post("/v2/nfe", params={"ref": "k"}, json=nfe_payload(serie=3))
    body = acme.get("/v2/nfe/k").json()
    chave = body["chave_nfe"]
    assert chave.startswith("NFe")
    chave = chave[3:]
    assert len(chave) == 44 and chave.isdigit()
    assert chave[:2] == UF_CODES["PR"]
    assert chave[6:20] == ACME
    assert chave[20:22] == "55"
    assert chave[22:25] == "003"
    assert chave[25:34] == "000000001"
    assert chave[34] == "1"  # tpEmis normal
    assert chave[35:43] != chave[26:34]  # cNF differs from the number
    assert chave_is_valid(chave)


def test_alphanumeric_cnpj_goes_into_the_chave(focus: Callable[..., httpx.Client]) -> None:
    alfa = focus("alfa-hom")
    alfa.post("/v2/nfe", params={"ref": "a"}, json=nfe_payload(ALFA))
    body = alfa.get("/v2/nfe/a").json()
    chave = body["chave_nfe"][3:]
    assert chave[:2] == "43" and chave[6:20] == ALFA
    assert chave_is_valid(chave)
    assert body["cnpj_emitente"] == ALFA


def _independent_chave_dv(base43: str) -> str:
    """The MOC's chave check digit written out: weights 2..9 from the right, each character
    worth ord(c) - 48 (digits keep their value, 'A' is 17)."""
    total = sum((ord(c) - 48) * (2 + i % 8) for i, c in enumerate(reversed(base43)))
    return str(0 if total % 11 < 2 else 11 - total % 11)


def test_alphanumeric_chave_check_digit_is_over_ord_minus_48(
    focus: Callable[..., httpx.Client],
) -> None:
    # cUF AAMM CNPJ mod série nNF tpEmis cNF: 43 characters, then the check digit.
    base = "43" + "2601" + ALFA + "55" + "001" + "000000001" + "1" + "12345678"
    built = build_chave(uf="RS", aamm="2601", emitente=ALFA, modelo="55", serie=1, numero=1,
                        tp_emis="1", cnf="12345678")
    assert built == base + _independent_chave_dv(base) == base + "4"
    assert len(built) == 44 and chave_is_valid(built)
    assert not chave_is_valid(built[:10] + "B" + built[11:])  # a letter changed: DV no longer fits
    alfa = focus("alfa-hom")
    alfa.post("/v2/nfe", params={"ref": "dv"}, json=nfe_payload(ALFA))
    chave = alfa.get("/v2/nfe/dv").json()["chave_nfe"][3:]
    assert chave[-1] == _independent_chave_dv(chave[:43])
    cancelled = alfa.request("DELETE", "/v2/nfe/dv",
                             json={"justificativa": "Cancelamento de teste do sandbox"}).json()
    assert cancelled["status"] == "cancelado"
    assert ALFA.encode() in alfa.get(cancelled["caminho_xml_cancelamento"]).content


def test_cpf_emitter_is_zero_padded_in_the_chave(focus: Callable[..., httpx.Client]) -> None:
    produtor = focus("cpf-hom")
    r = produtor.post("/v2/nfe", params={"ref": "p"}, json=nfe_payload(PRODUTOR_CPF))
    assert r.json()["cpf_emitente"] == PRODUTOR_CPF
    chave = produtor.get("/v2/nfe/p").json()["chave_nfe"][3:]
    assert chave[6:20] == "000" + PRODUTOR_CPF


def test_synchronous_company_gets_201_with_the_final_result(
    focus: Callable[..., httpx.Client],
) -> None:
    sync = focus("sync-hom")
    r = sync.post("/v2/nfe", params={"ref": "s"}, json=nfe_payload(SYNC))
    assert r.status_code == 201
    assert r.json()["status"] == "autorizado"
    r = sync.post("/v2/nfe", params={"ref": "r"}, json=nfe_payload(SYNC, nome_destinatario="X"))
    assert r.status_code == 201
    assert r.json()["status"] == "erro_autorizacao"


def test_synchronous_emission_never_in_sp(focus: Callable[..., httpx.Client]) -> None:
    r = focus("syncsp-hom").post("/v2/nfe", params={"ref": "s"}, json=nfe_payload(SYNC_SP))
    assert r.status_code == 202


def test_synchronous_emission_falls_back_to_202_when_sefaz_is_down(
    focus: Callable[..., httpx.Client], control: httpx.Client
) -> None:
    control.post("/sefaz", json={"uf": "MG", "down": True})
    sync = focus("sync-hom")
    assert sync.post("/v2/nfe", params={"ref": "s"}, json=nfe_payload(SYNC)).status_code == 202
    assert sync.get("/v2/nfe/s").json()["status"] == "processando_autorizacao"
    control.post("/sefaz", json={"uf": "MG", "down": False})
    assert sync.get("/v2/nfe/s").json()["status"] == "autorizado"


def test_sefaz_down_holds_async_notes_until_it_is_back(
    acme: httpx.Client, control: httpx.Client
) -> None:
    control.post("/sefaz", json={"uf": "PR", "down": True})
    acme.post("/v2/nfe", params={"ref": "d"}, json=nfe_payload())
    assert control.post("/process", json={}).json()["settled"] == []
    assert acme.get("/v2/nfe/d").json()["status"] == "processando_autorizacao"
    control.post("/sefaz", json={"uf": "PR", "down": False})
    assert acme.get("/v2/nfe/d").json()["status"] == "autorizado"


def test_get_unknown_ref_is_404(acme: httpx.Client) -> None:
    r = acme.get("/v2/nfe/nope")
    assert r.status_code == 404
    assert r.json() == {"codigo": "nao_encontrado", "mensagem": "Nota fiscal não encontrada"}


def test_completa_adds_the_six_objects(acme: httpx.Client) -> None:
    acme.post("/v2/nfe", params={"ref": "full"}, json=nfe_payload())
    plain = acme.get("/v2/nfe/full", params={"completa": 0}).json()
    full = acme.get("/v2/nfe/full", params={"completa": 1}).json()
    extras = {
        "requisicao_nota_fiscal",
        "protocolo_nota_fiscal",
        "requisicao_cancelamento",
        "protocolo_cancelamento",
        "requisicao_carta_correcao",
        "protocolo_carta_correcao",
    }
    assert set(full) - set(plain) == extras
    assert full["protocolo_nota_fiscal"]["numero_protocolo"]
    assert full["protocolo_nota_fiscal"]["chave_nfe"] == plain["chave_nfe"][3:]
    assert full["requisicao_nota_fiscal"]["items"][0]["descricao"] == "Cartões de Visita"
    assert full["requisicao_cancelamento"] is None


# -- cancellation ------------------------------------------------------------------------------


def _authorized(acme: httpx.Client, ref: str = "c") -> dict:
    acme.post("/v2/nfe", params={"ref": ref}, json=nfe_payload())
    return acme.get(f"/v2/nfe/{ref}").json()


def test_cancel_within_24h(acme: httpx.Client, control: httpx.Client) -> None:
    note = _authorized(acme)
    control.post("/clock", json={"advance_seconds": 23 * 3600})
    r = delete(acme, "/v2/nfe/c", json={"justificativa": "Cliente desistiu da compra"})
    assert r.status_code == 200
    assert r.json() == {
        "status_sefaz": "135",
        "mensagem_sefaz": "Evento registrado e vinculado a NF-e",
        "status": "cancelado",
        "caminho_xml_cancelamento": note["caminho_xml_nota_fiscal"].replace("-nfe.xml", "-can.xml"),
    }
    body = acme.get("/v2/nfe/c").json()
    assert body["status"] == "cancelado"
    assert body["caminho_xml_cancelamento"] == r.json()["caminho_xml_cancelamento"]
    full = acme.get("/v2/nfe/c", params={"completa": 1}).json()
    assert full["requisicao_cancelamento"]["justificativa"] == "Cliente desistiu da compra"
    assert full["protocolo_cancelamento"]["status"] == "135"


def test_cancel_after_24h_is_erro_cancelamento_and_note_stays_authorized(
    acme: httpx.Client, control: httpx.Client
) -> None:
    _authorized(acme)
    control.post("/clock", json={"advance_seconds": 24 * 3600 + 1})
    r = delete(acme, "/v2/nfe/c", json={"justificativa": "Cliente desistiu da compra"})
    assert r.status_code == 200
    assert r.json()["status"] == "erro_cancelamento"
    assert r.json()["status_sefaz"] == "501"
    assert acme.get("/v2/nfe/c").json()["status"] == "autorizado"


def test_cancel_rejection_trigger_in_justificativa(acme: httpx.Client) -> None:
    _authorized(acme)
    r = delete(acme, "/v2/nfe/c", json={"justificativa": "SANDBOX:REJEITAR:573 justificativa"})
    assert r.json() == {
        "status": "erro_cancelamento",
        "status_sefaz": "573",
        "mensagem_sefaz": "Rejeicao: Duplicidade de Evento",
    }


@pytest.mark.parametrize(
    ("justificativa", "mensagem"),
    [
        (None, 'Parâmetro "justificativa" não informado'),
        ("curta", 'Parâmetro "justificativa" deve ter entre 15 e 255 caracteres'),
        ("x" * 256, 'Parâmetro "justificativa" deve ter entre 15 e 255 caracteres'),
    ],
)
def test_cancel_justificativa_length(
    acme: httpx.Client, justificativa: str | None, mensagem: str
) -> None:
    _authorized(acme)
    body = {"justificativa": justificativa} if justificativa else {}
    r = delete(acme, "/v2/nfe/c", json=body)
    assert r.status_code == 400
    assert r.json() == {"codigo": "requisicao_invalida", "mensagem": mensagem}


def test_cancel_accepts_justificativa_in_the_query(acme: httpx.Client) -> None:
    _authorized(acme)
    r = acme.delete("/v2/nfe/c", params={"justificativa": "Cliente desistiu da compra"})
    assert r.json()["status"] == "cancelado"


def test_cancel_twice_is_nfe_cancelada(acme: httpx.Client) -> None:
    _authorized(acme)
    delete(acme, "/v2/nfe/c", json={"justificativa": "Cliente desistiu da compra"})
    r = delete(acme, "/v2/nfe/c", json={"justificativa": "Cliente desistiu da compra"})
    assert r.status_code == 400
    assert r.json()["codigo"] == "nfe_cancelada"


def test_cancel_of_a_note_not_authorized_is_422(acme: httpx.Client, control: httpx.Client) -> None:
    control.post("/config", json={"processing_delay": 3600})
    acme.post("/v2/nfe", params={"ref": "p"}, json=nfe_payload())
    r = delete(acme, "/v2/nfe/p", json={"justificativa": "Cliente desistiu da compra"})
    assert r.status_code == 422
    assert r.json() == {"codigo": "nfe_nao_autorizada", "mensagem": "Nota fiscal não autorizada"}


def test_cancel_unknown_is_404(acme: httpx.Client) -> None:
    r = delete(acme, "/v2/nfe/nope", json={"justificativa": "Cliente desistiu da compra"})
    assert r.status_code == 404


def test_other_method_on_collection_is_404_use_post(acme: httpx.Client) -> None:
    r = acme.get("/v2/nfe")
    assert r.status_code == 404
    assert r.json() == {"codigo": "nao_encontrado", "mensagem": "Utilize o método POST"}
