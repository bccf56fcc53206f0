"""Every example answer of focus-nfe-api-v2.txt that applies, against the running sandbox.

Each example is copied verbatim from the document; a scenario makes the sandbox produce the
same situation over HTTP; the answer must have the example's status code and shape: every key
of the example, recursively, with a value of the same JSON type (null in the example accepts
anything). The values themselves (chaves, numbers, dates) are the sandbox's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.sandbox.doc_examples import (
    ATOR_ERRO,
    ATOR_OK,
    CANCEL_OK,
    CCE_OK,
    IMPORT_ERRO,
    IMPORT_OK,
    INSUCESSO_CANCEL_ERRO,
    INSUCESSO_CANCEL_OK,
    INSUCESSO_ERRO,
    INSUCESSO_OK,
    INUT_256,
    INUT_OK,
    JUST,
    JUSTIFICATIVA_INVALIDA,
    LOTE_RESPOSTA,
    NAO_ENCONTRADO,
    NFCE_591,
    NFCE_AUTORIZADO,
    NFCE_CANCEL_OK,
    NFCE_CANCELADO,
    NFCE_INUT_241,
    NFCE_INUT_OK,
    NFCE_NAO_AUTORIZADA,
    NFCE_OFFLINE,
    NFCE_TIMEOUT,
    NFE_AUTORIZADO,
    NFE_CANCELADO,
    NFE_COM_CCE,
    NFE_COMPLETA,
    NFE_ERRO,
    NFE_PROCESSANDO,
    NFE_SCHEMA,
    NFSE_AUTORIZADO,
    NFSE_CANCEL_ERRO,
    NFSE_CANCEL_OK,
    NFSE_CANCELADO,
    NFSE_ERRO,
    NFSE_INVALIDA,
    NFSE_JA_CANCELADA,
    NFSE_PROCESSANDO,
    NFSE_PROCESSANDO_POST,
    NFSEN_AUTORIZADO,
    NFSEN_CANCELADO,
    NFSEN_ERRO,
    NFSEN_INVALIDA,
    NFSEN_PROCESSANDO,
)
from tests.sandbox.helpers import (
    ACME,
    NORMAL,
    delete,
    nfce_payload,
    nfe_payload,
    nfse_payload,
    nfsen_payload,
)


def assert_shape(actual: Any, example: Any, path: str = "$") -> None:
    if example is None:
        return
    if isinstance(example, dict):
        assert isinstance(actual, dict), f"{path}: expected object, got {actual!r}"
        missing = set(example) - set(actual)
        assert not missing, f"{path}: missing {sorted(missing)} in {actual!r}"
        for key, value in example.items():
            assert_shape(actual[key], value, f"{path}.{key}")
    elif isinstance(example, list):
        assert isinstance(actual, list) and actual, f"{path}: expected a non-empty list"
        for item in actual:
            assert_shape(item, example[0], f"{path}[]")
    else:
        assert type(actual) is type(example), f"{path}: {actual!r} vs example {example!r}"


# -- scenarios -------------------------------------------------------------------------------

Scenario = Callable[[Callable[..., httpx.Client], httpx.Client], httpx.Response]


def _nfe(c: httpx.Client, ref: str = "r", **kw: Any) -> dict:
    c.post("/v2/nfe", params={"ref": ref}, json=nfe_payload(**kw))
    return c.get(f"/v2/nfe/{ref}").json()


def sc_nfe_sync(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    control.post("/config", json={"companies": {ACME: {"nfe_sincrono": True}}})
    return focus("acme-hom").post("/v2/nfe", params={"ref": "r"}, json=nfe_payload())


def sc_nfe_schema(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    payload = nfe_payload()
    del payload["cpf_destinatario"]
    return focus("acme-hom").post("/v2/nfe", params={"ref": "r"}, json=payload)


def sc_nfe_get(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    _nfe(c)
    return c.get("/v2/nfe/r")


def sc_nfe_cce(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    _nfe(c)
    c.post("/v2/nfe/r/carta_correcao", json={"correcao": "Correção do endereço"})
    return c.get("/v2/nfe/r")


def sc_nfe_processando(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    control.post("/config", json={"processing_delay": 60})
    c = focus("acme-hom")
    c.post("/v2/nfe", params={"ref": "r"}, json=nfe_payload())
    return c.get("/v2/nfe/r")


def sc_nfe_598(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    _nfe(c, nome_destinatario="Fulano")
    return c.get("/v2/nfe/r")


def _cancelled_with_two_cce(c: httpx.Client) -> None:
    _nfe(c)
    c.post("/v2/nfe/r/carta_correcao", json={"correcao": "Primeira correção aqui"})
    c.post("/v2/nfe/r/carta_correcao", json={"correcao": "Segunda correção aqui"})
    delete(c, "/v2/nfe/r", json={"justificativa": JUST})


def sc_nfe_cancelado(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    _cancelled_with_two_cce(c)
    return c.get("/v2/nfe/r")


def sc_nfe_completa(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    _cancelled_with_two_cce(c)
    return c.get("/v2/nfe/r", params={"completa": 1})


def sc_cancel(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    _nfe(c)
    return delete(c, "/v2/nfe/r", json={"justificativa": JUST})


def sc_cancel_invalid(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    _nfe(c)
    return delete(c, "/v2/nfe/r", json={"justificativa": "curta"})


def sc_cce(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    _nfe(c)
    return c.post("/v2/nfe/r/carta_correcao", json={"correcao": "Teste de carta de correcao"})


def sc_ator(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    _nfe(c)
    return c.post(
        "/v2/nfe/r/ator_interessado",
        json={"cpf": "03055054911", "permite_autorizacao_terceiros": True},
    )


def sc_ator_erro(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    _nfe(c)
    return c.post("/v2/nfe/r/ator_interessado", json={})


INSUCESSO = {
    "data_tentativa_entrega": "2024-07-24T10:30:56-0300",
    "numero_tentativas": 4,
    "motivo_insucesso": 4,
    "justificativa_insucesso": "Erro no cadastro do endereço.",
}


def sc_insucesso(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    _nfe(c)
    return c.post("/v2/nfe/r/insucesso_entrega", json=INSUCESSO)


def sc_insucesso_erro(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    _nfe(c)
    return c.post("/v2/nfe/r/insucesso_entrega", json={"motivo_insucesso": 1})


def sc_insucesso_cancel(
    focus: Callable[..., httpx.Client], control: httpx.Client
) -> httpx.Response:
    c = focus("acme-hom")
    _nfe(c)
    c.post("/v2/nfe/r/insucesso_entrega", json=INSUCESSO)
    return delete(c, "/v2/nfe/r/insucesso_entrega")


def sc_insucesso_cancel_erro(
    focus: Callable[..., httpx.Client], control: httpx.Client
) -> httpx.Response:
    c = focus("acme-hom")
    _nfe(c)
    return delete(c, "/v2/nfe/r/insucesso_entrega")


def _inut(c: httpx.Client, doc: str, ini: int, fim: int) -> httpx.Response:
    return c.post(
        f"/v2/{doc}/inutilizacao",
        json={
            "cnpj": ACME,
            "serie": "1",
            "numero_inicial": str(ini),
            "numero_final": str(fim),
            "justificativa": "Teste de inutilizacao de nota",
        },
    )


def sc_inut(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    return _inut(focus("acme-hom"), "nfe", 999, 1000)


def sc_inut_256(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    _inut(c, "nfe", 999, 1000)
    return _inut(c, "nfe", 1000, 1000)


def sc_import(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    hom = focus("acme-hom")
    xml = hom.get(_nfe(hom)["caminho_xml_nota_fiscal"]).content
    return focus("acme-prod").post("/v2/nfe/importacao", content=xml)


def sc_import_erro(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    return focus("acme-hom").post("/v2/nfe/importacao", content=b"not xml")


def sc_not_found(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    return focus("acme-hom").get("/v2/nfe/none")


def sc_nfce(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    return focus("acme-hom").post("/v2/nfce", params={"ref": "c"}, json=nfce_payload())


def sc_nfce_get(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    c.post("/v2/nfce", params={"ref": "c"}, json=nfce_payload())
    return c.get("/v2/nfce/c", params={"completa": 0})


def sc_nfce_offline(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    control.post("/contingency", json={"uf": "PR", "nfce_offline": True})
    return focus("acme-hom").post("/v2/nfce", params={"ref": "c"}, json=nfce_payload())


def sc_nfce_591(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    return focus("normal-hom").post("/v2/nfce", params={"ref": "c"}, json=nfce_payload(NORMAL))


def sc_nfce_591_get(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    sc_nfce_591(focus, control)
    return focus("normal-hom").get("/v2/nfce/c")


def sc_nfce_timeout(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    control.post("/contingency", json={"uf": "PR", "nfce_timeout_correction": True})
    c = focus("acme-hom")
    c.post("/v2/nfce", params={"ref": "c"}, json=nfce_payload())
    return c.get("/v2/nfce/c")


def sc_nfce_cancelado(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    c.post("/v2/nfce", params={"ref": "c"}, json=nfce_payload())
    delete(c, "/v2/nfce/c", json={"justificativa": JUST})
    return c.get("/v2/nfce/c")


def sc_nfce_cancel(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    c.post("/v2/nfce", params={"ref": "c"}, json=nfce_payload())
    return delete(c, "/v2/nfce/c", json={"justificativa": JUST})


def sc_nfce_cancel_invalid(
    focus: Callable[..., httpx.Client], control: httpx.Client
) -> httpx.Response:
    c = focus("acme-hom")
    c.post("/v2/nfce", params={"ref": "c"}, json=nfce_payload())
    return delete(c, "/v2/nfce/c", json={"justificativa": "curta"})


def sc_nfce_cancel_nao_autorizada(
    focus: Callable[..., httpx.Client], control: httpx.Client
) -> httpx.Response:
    sc_nfce_591(focus, control)
    return delete(focus("normal-hom"), "/v2/nfce/c", json={"justificativa": JUST})


def sc_nfce_inut(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    return _inut(focus("acme-hom"), "nfce", 999, 1000)


def sc_nfce_inut_241(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    c.post("/v2/nfce", params={"ref": "c"}, json=nfce_payload())
    return _inut(c, "nfce", 1, 9)


def _nfse(c: httpx.Client, doc: str = "nfse", **kw: Any) -> None:
    payload = nfse_payload(**kw) if doc == "nfse" else nfsen_payload(**kw)
    c.post(f"/v2/{doc}", params={"ref": "s"}, json=payload)


def sc_nfse_post(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    return focus("acme-hom").post("/v2/nfse", params={"ref": "s"}, json=nfse_payload())


def sc_nfse_invalid(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    payload = nfse_payload()
    del payload["prestador"]["codigo_municipio"]
    return focus("acme-hom").post("/v2/nfse", params={"ref": "s"}, json=payload)


def _get_after(doc: str, **kw: Any) -> Scenario:
    def scenario(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
        c = focus("acme-hom")
        if kw.pop("_slow", False):
            control.post("/config", json={"processing_delay": 60})
        cancel = kw.pop("_cancel", False)
        _nfse(c, doc, **kw)
        if cancel:
            delete(c, f"/v2/{doc}/s", json={"justificativa": JUST})
        return c.get(f"/v2/{doc}/s")

    return scenario


def _nfse_regime_invalido(
    focus: Callable[..., httpx.Client], control: httpx.Client
) -> httpx.Response:
    c = focus("acme-hom")
    payload = nfse_payload()
    payload["regime_especial_tributacao"] = 99
    c.post("/v2/nfse", params={"ref": "s"}, json=payload)
    return c.get("/v2/nfse/s")


def _cancel_nfse(doc: str, justificativa: str, twice: bool = False) -> Scenario:
    def scenario(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
        c = focus("acme-hom")
        _nfse(c, doc)
        r = delete(c, f"/v2/{doc}/s", json={"justificativa": justificativa})
        if twice:
            r = delete(c, f"/v2/{doc}/s", json={"justificativa": justificativa})
        return r

    return scenario


def sc_nfsen_post(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    return focus("acme-hom").post("/v2/nfsen", params={"ref": "s"}, json=nfsen_payload())


def sc_nfsen_invalid(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    payload = nfsen_payload()
    del payload["codigo_municipio_emissora"]
    return focus("acme-hom").post("/v2/nfsen", params={"ref": "s"}, json=payload)


def sc_nfsen_e0014(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    c.post("/v2/nfsen", params={"ref": "a"}, json=nfsen_payload(numero_dps=5))
    c.post("/v2/nfsen", params={"ref": "s"}, json=nfsen_payload(numero_dps=5))
    return c.get("/v2/nfsen/s")


def sc_lote_resposta(focus: Callable[..., httpx.Client], control: httpx.Client) -> httpx.Response:
    c = focus("acme-hom")
    lote = {
        "prestador": {"cnpj": ACME, "inscricao_municipal": "1", "codigo_municipio": "1"},
        "lista_nfse": [{"servico": {"discriminacao": "x", "valor_servicos": 1}}],
    }
    c.post("/v2/lotes_rps", params={"ref": "l"}, json=lote)
    return c.post("/v2/lotes_rps/l/resposta", content=b"retorno da prefeitura")


EXAMPLES: list[tuple[str, int, dict, Scenario]] = [
    ("nfe envio autorizado (síncrono)", 201, NFE_AUTORIZADO, sc_nfe_sync),
    ("nfe envio erro_validacao_schema", 422, NFE_SCHEMA, sc_nfe_schema),
    ("nfe consulta autorizado", 200, NFE_AUTORIZADO, sc_nfe_get),
    ("nfe consulta autorizado com CCe", 200, NFE_COM_CCE, sc_nfe_cce),
    ("nfe consulta processando_autorizacao", 200, NFE_PROCESSANDO, sc_nfe_processando),
    ("nfe consulta erro_autorizacao", 200, NFE_ERRO, sc_nfe_598),
    ("nfe consulta cancelado", 200, NFE_CANCELADO, sc_nfe_cancelado),
    ("nfe consulta completa=1", 200, NFE_COMPLETA, sc_nfe_completa),
    ("nfe cancelamento cancelado", 200, CANCEL_OK, sc_cancel),
    ("nfe cancelamento requisicao_invalida", 400, JUSTIFICATIVA_INVALIDA, sc_cancel_invalid),
    ("nfe carta de correção", 200, CCE_OK, sc_cce),
    ("nfe ator interessado", 200, ATOR_OK, sc_ator),
    ("nfe ator interessado erro", 400, ATOR_ERRO, sc_ator_erro),
    ("nfe insucesso", 200, INSUCESSO_OK, sc_insucesso),
    ("nfe insucesso erro", 400, INSUCESSO_ERRO, sc_insucesso_erro),
    ("nfe cancelamento insucesso", 200, INSUCESSO_CANCEL_OK, sc_insucesso_cancel),
    ("nfe cancelamento insucesso erro", 422, INSUCESSO_CANCEL_ERRO, sc_insucesso_cancel_erro),
    ("nfe inutilização autorizado", 200, INUT_OK, sc_inut),
    ("nfe inutilização erro 256", 200, INUT_256, sc_inut_256),
    ("nfe importação", 201, IMPORT_OK, sc_import),
    ("nfe importação erro", 422, IMPORT_ERRO, sc_import_erro),
    ("erro nao_encontrado", 404, NAO_ENCONTRADO, sc_not_found),
    ("nfce envio autorizado", 201, NFCE_AUTORIZADO, sc_nfce),
    ("nfce envio contingência offline", 201, NFCE_OFFLINE, sc_nfce_offline),
    ("nfce envio erro_autorizacao", 201, NFCE_591, sc_nfce_591),
    ("nfce correção de timeout", 200, NFCE_TIMEOUT, sc_nfce_timeout),
    ("nfce consulta completa=0", 200, NFCE_AUTORIZADO, sc_nfce_get),
    ("nfce consulta erro_autorizacao", 200, NFCE_591, sc_nfce_591_get),
    ("nfce consulta cancelado", 200, NFCE_CANCELADO, sc_nfce_cancelado),
    ("nfce cancelamento", 200, NFCE_CANCEL_OK, sc_nfce_cancel),
    ("nfce cancelamento requisicao_invalida", 400, JUSTIFICATIVA_INVALIDA, sc_nfce_cancel_invalid),
    (
        "nfce cancelamento nfe_nao_autorizada",
        422,
        NFCE_NAO_AUTORIZADA,
        sc_nfce_cancel_nao_autorizada,
    ),
    ("nfce inutilização autorizado", 200, NFCE_INUT_OK, sc_nfce_inut),
    ("nfce inutilização erro 241", 200, NFCE_INUT_241, sc_nfce_inut_241),
    ("nfse envio processando", 202, NFSE_PROCESSANDO_POST, sc_nfse_post),
    ("nfse envio requisicao_invalida", 400, NFSE_INVALIDA, sc_nfse_invalid),
    ("nfse consulta autorizado", 200, NFSE_AUTORIZADO, _get_after("nfse")),
    ("nfse consulta cancelado", 200, NFSE_CANCELADO, _get_after("nfse", _cancel=True)),
    ("nfse consulta erro_autorizacao", 200, NFSE_ERRO, _nfse_regime_invalido),
    ("nfse consulta processando", 200, NFSE_PROCESSANDO, _get_after("nfse", _slow=True)),
    ("nfse cancelamento", 200, NFSE_CANCEL_OK, _cancel_nfse("nfse", JUST)),
    (
        "nfse cancelamento erro",
        200,
        NFSE_CANCEL_ERRO,
        _cancel_nfse("nfse", "SANDBOX:REJEITAR:E523 prazo"),
    ),
    ("nfse já cancelada", 400, NFSE_JA_CANCELADA, _cancel_nfse("nfse", JUST, twice=True)),
    ("nfsen envio processando", 202, NFSE_PROCESSANDO_POST, sc_nfsen_post),
    ("nfsen envio requisicao_invalida", 400, NFSEN_INVALIDA, sc_nfsen_invalid),
    ("nfsen consulta autorizado", 200, NFSEN_AUTORIZADO, _get_after("nfsen")),
    ("nfsen consulta cancelado", 200, NFSEN_CANCELADO, _get_after("nfsen", _cancel=True)),
    ("nfsen consulta erro_autorizacao", 200, NFSEN_ERRO, sc_nfsen_e0014),
    ("nfsen consulta processando", 200, NFSEN_PROCESSANDO, _get_after("nfsen", _slow=True)),
    ("nfsen cancelamento", 200, NFSE_CANCEL_OK, _cancel_nfse("nfsen", JUST)),
    (
        "nfsen cancelamento erro",
        200,
        NFSE_CANCEL_ERRO,
        _cancel_nfse("nfsen", "SANDBOX:REJEITAR:E523 prazo"),
    ),
    ("nfsen já cancelada", 400, NFSE_JA_CANCELADA, _cancel_nfse("nfsen", JUST, twice=True)),
    ("lote rps resposta", 201, LOTE_RESPOSTA, sc_lote_resposta),
]


@pytest.mark.parametrize(
    ("status", "example", "scenario"),
    [pytest.param(s, e, f, id=name) for name, s, e, f in EXAMPLES],
)
def test_documented_example(
    focus: Callable[..., httpx.Client],
    control: httpx.Client,
    status: int,
    example: dict,
    scenario: Scenario,
) -> None:
    response = scenario(focus, control)
    assert response.status_code == status, response.text
    assert_shape(response.json(), example)


def test_documented_status_values_are_the_examples(
    focus: Callable[..., httpx.Client], control: httpx.Client
) -> None:
    """Beyond the shape, the fixed texts of the examples come back word for word."""
    assert sc_nfe_598(focus, control).json()["mensagem_sefaz"] == NFE_ERRO["mensagem_sefaz"]
    assert sc_not_found(focus, control).json() == NAO_ENCONTRADO
    assert sc_nfe_schema(focus, control).json() == NFE_SCHEMA
    assert sc_cancel_invalid(focus, control).json() == JUSTIFICATIVA_INVALIDA
    assert sc_nfce_591(focus, control).json()["mensagem_sefaz"] == NFCE_591["mensagem_sefaz"]
