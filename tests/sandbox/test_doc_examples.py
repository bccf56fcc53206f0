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

from tests.sandbox.helpers import (
    ACME,
    NORMAL,
    delete,
    nfce_payload,
    nfe_payload,
    nfse_payload,
    nfsen_payload,
)

JUST = "Justificativa de teste do cancelamento"

NFE_AUTORIZADO = {
    "cnpj_emitente": "07504505000132",
    "ref": "referencia_000899_nfe",
    "status": "autorizado",
    "status_sefaz": "100",
    "mensagem_sefaz": "Autorizado o uso da NF-e",
    "chave_nfe": "NFe41190607504505000132550010000000221923094166",
    "numero": "22",
    "serie": "1",
    "caminho_xml_nota_fiscal": "/arquivos_development/07504505000132/201906/XMLs/"
    "41190607504505000132550010000000221923094166-nfe.xml",
    "caminho_danfe": "/arquivos_development/07504505000132/201906/DANFEs/"
    "41190607504505000132550010000000221923094166.pdf",
}
NFE_SCHEMA = {
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
NFE_COM_CCE = {
    **NFE_AUTORIZADO,
    "status_sefaz": "135",
    "mensagem_sefaz": "Evento registrado e vinculado a NF-e",
    "caminho_xml_carta_correcao": "/arquivos_development/07504505000132/201906/XMLs/"
    "41190607504505000132550010000000221923094166-cce-01.xml",
    "caminho_pdf_carta_correcao": "/notas_fiscais/NFe41190607504505000132550010000000221923094166"
    "/cartas_correcao/1.pdf",
    "numero_carta_correcao": 1,
}
NFE_PROCESSANDO = {
    "cnpj_emitente": "07504505000132",
    "ref": "referencia_000899_nfe",
    "status": "processando_autorizacao",
}
NFE_ERRO = {
    "cnpj_emitente": "07504505000132",
    "ref": "referencia_000899_nfe",
    "status": "erro_autorizacao",
    "status_sefaz": "598",
    "mensagem_sefaz": "NF-e emitida em ambiente de homologacao com Razao Social do "
    "destinatario diferente de NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - "
    "SEM VALOR FISCAL",
}
NFE_CANCELADO = {
    **NFE_COM_CCE,
    "status": "cancelado",
    "caminho_xml_cancelamento": "/arquivos_development/07504505000132/201906/XMLs/"
    "41190607504505000132550010000000221923094166-can.xml",
    "numero_carta_correcao": 2,
}
_EVENT = {
    "versao": "1.00",
    "id_tag": "ID1101119118017764335300017255003000000025138154946401",
    "codigo_orgao": "41",
    "ambiente": "2",
    "cnpj": "CNPJ_DO_EMITENTE",
    "chave_nfe": "91180177643353000172550030000000251381549464",
    "data_evento": "2012-01-17T16:00:28-02:00",
    "tipo_evento": "110111",
    "numero_sequencial_evento": "1",
    "versao_evento": "1.00",
    "descricao_evento": "Cancelamento",
}
_PROTOCOL = {
    "versao": "1.00",
    "ambiente": "2",
    "versao_aplicativo": "PR-v3_8_7",
    "codigo_orgao": "41",
    "status": "135",
    "motivo": "Evento registrado e vinculado a NF-e",
    "chave_nfe": "91180177643353000172550030000000251381549464",
    "tipo_evento": "110111",
    "descricao_evento": "Cancelamento",
    "data_evento": "2012-01-17T16:00:31-02:00",
    "numero_protocolo": "141180000026777",
}
NFE_COMPLETA = {
    "requisicao_cancelamento": {
        **_EVENT,
        "protocolo": "141180000026777",
        "justificativa": "Informe aqui a sua justificativa.",
    },
    "protocolo_cancelamento": _PROTOCOL,
    "requisicao_carta_correcao": {
        **_EVENT,
        "correcao": "Informe aqui os campos corrigidos.",
        "condicoes_uso": "A Carta de Correcao e disciplinada...",
    },
    "protocolo_carta_correcao": _PROTOCOL,
}
CANCEL_OK = {
    "status_sefaz": "135",
    "mensagem_sefaz": "Evento registrado e vinculado a NF-e",
    "status": "cancelado",
    "caminho_xml_cancelamento": "/arquivos_development/07504505000132/201906/XMLs/"
    "41190607504505000132550010000000221923094166-can.xml",
}
JUSTIFICATIVA_INVALIDA = {
    "codigo": "requisicao_invalida",
    "mensagem": 'Parâmetro "justificativa" deve ter entre 15 e 255 caracteres',
}
CCE_OK = {
    k: v
    for k, v in NFE_COM_CCE.items()
    if k
    in (
        "status_sefaz",
        "mensagem_sefaz",
        "caminho_xml_carta_correcao",
        "caminho_pdf_carta_correcao",
        "numero_carta_correcao",
    )
} | {"status": "autorizado"}
ATOR_OK = {
    "status_sefaz": "135",
    "mensagem_sefaz": "Evento registrado e vinculado a NF-e",
    "status": "autorizado",
    "caminho_xml_evento_ator_interessado": "/arquivos_development/07504505000132_25/"
    "202406/XMLs/41240607504505000132550030000007431804923238-ato-01.xml",
    "numero_evento_ator_interessado": 1,
}
ATOR_ERRO = {
    "codigo": "requisicao_invalida",
    "mensagem": "Por favor, informe o CNPJ ou CPF do ator interessado.",
}
INSUCESSO_OK = {
    "status_sefaz": "135",
    "mensagem_sefaz": "Evento registrado e vinculado a NF-e",
    "status": "autorizado",
    "caminho_xml_insucesso_entrega": "/arquivos_development/36405184000117_496/"
    "202407/XMLs/42240736405184000117550010000000041399297360-ie.xml",
    "numero_insucesso_entrega": 1,
}
INSUCESSO_ERRO = {
    "codigo": "requisicao_invalida",
    "mensagem": "Por favor, informe a data da tentativa de entrega.",
}
INSUCESSO_CANCEL_OK = {
    "status_sefaz": "135",
    "mensagem_sefaz": "Evento registrado e vinculado a NF-e",
    "status": "autorizado",
    "caminho_xml_cancelamento_insucesso_entrega": "/arquivos_development/"
    "36405184000117_496/202407/XMLs/"
    "42240736405184000117550010000000041399297360-ie-can.xml",
    "numero_cancelamento_insucesso_entrega": 1,
}
INSUCESSO_CANCEL_ERRO = {
    "codigo": "pending_operation",
    "mensagem": "Nota não possui evento de insucesso de entrega.",
}
INUT_OK = {
    "status_sefaz": "102",
    "mensagem_sefaz": "Inutilizacao de numero homologado",
    "serie": "1",
    "numero_inicial": "999",
    "numero_final": "1000",
    "modelo": "55",
    "cnpj": "1807504505000130",
    "status": "autorizado",
    "caminho_xml": "/arquivos_development/07504505000132/201906/XMLs/"
    "190750450500013255001000000999000001000-inu.xml",
    "protocolo_sefaz": "135210002233889",
}
INUT_256 = {
    "status_sefaz": "256",
    "mensagem_sefaz": "Uma NF-e da faixa ja esta inutilizada na Base de dados da SEFAZ",
    "serie": "1",
    "numero_inicial": "1000",
    "numero_final": "1000",
    "status": "erro_autorizacao",
}
IMPORT_OK = {**NFE_AUTORIZADO, "ref": "NFe41190607504505000132550010000000221923094166"}
IMPORT_ERRO = {
    "codigo": "erro_validacao_xml",
    "mensagem": "O XML não pode ser interpretado, verifique seu conteúdo e tente novamente",
}
NAO_ENCONTRADO = {"codigo": "nao_encontrado", "mensagem": "Nota fiscal não encontrada"}

NFCE_AUTORIZADO = {
    "cnpj_emitente": "07504505000132",
    "ref": "referencia_000899",
    "status": "autorizado",
    "status_sefaz": "100",
    "mensagem_sefaz": "Autorizado o uso da NF-e",
    "chave_nfe": "NFe41190607504505000132650010000000121743484310",
    "numero": "12",
    "serie": "1",
    "caminho_xml_nota_fiscal": "/arquivos_development/07504505000132/201906/XMLs/"
    "41190607504505000132650010000000121743484310-nfe.xml",
    "caminho_danfe": "/notas_fiscais_consumidor/NFe41190607504505000132650010000000121743484310"
    ".html",
    "qrcode_url": "http://www.fazenda.pr.gov.br/nfce/qrcode/?p=4119060750450500013265001000000"
    "0121743484310|2|2|1|5E264C0E28D801197219894CDFCF2FCCC5237F08",
    "url_consulta_nf": "http://www.fazenda.pr.gov.br/nfce/consulta",
}
NFCE_OFFLINE = {
    **NFCE_AUTORIZADO,
    "contingencia_offline": True,
    "contingencia_offline_efetivada": False,
}
NFCE_591 = {
    "cnpj_emitente": "07504505000132",
    "ref": "referencia_000899",
    "status": "erro_autorizacao",
    "status_sefaz": "591",
    "mensagem_sefaz": "Informado CSOSN para emissor que nao e do Simples Nacional (CRT "
    "diferente de 1). [nItem:1]",
}
NFCE_TIMEOUT = {
    "cnpj_emitente": "28999399000136",
    "ref": "46262079",
    "status": "autorizado",
    "status_sefaz": "100",
    "mensagem_sefaz": "Autorizado o uso da NF-e",
    "chave_nfe": "NFe35230428199999000136650010009920901420209841",
    "numero": "90",
    "serie": "1",
    "protocolo": "135230310999953",
    "caminho_xml_nota_fiscal": "/arquivos/28999399000136/202304/XMLs/x-nfe.xml",
    "caminho_danfe": "/notas_fiscais_consumidor/NFe3523.html",
    "qrcode_url": "https://www.nfce.fazenda.sp.gov.br/?p=NFe35230428199999000136650010009920",
    "url_consulta_nf": "https://www.nfce.fazenda.sp.gov.br/consulta",
    "tentativas_anteriores": [
        {
            "status": "cancelado",
            "chave_nfe": "NFe35230999999999000136650010009920881211857222",
            "numero": "88",
            "serie": "1",
            "protocolo": "135230310368696",
            "caminho_xml_nota_fiscal": "/arquivos/28165341000136/202304/XMLs/x-nfe.xml",
            "caminho_xml_cancelamento": "/arquivos/28165341000136/202304/XMLs/x-can.xml",
        }
    ],
}
NFCE_CANCELADO = {
    "cnpj_emitente": "07504505000132",
    "ref": "referencia_000899",
    "status": "cancelado",
    "status_sefaz": "135",
    "mensagem_sefaz": "Evento registrado e vinculado a NF-e",
    "numero": "12",
    "serie": "1",
    "chave_nfe": "NFe41190607504505000132650010000000121743484310",
    "caminho_xml_nota_fiscal": "/arquivos_development/x-nfe.xml",
    "caminho_xml_cancelamento": "/arquivos_development/x-can.xml",
    "numero_protocolo": "141230000025397",
}
NFCE_CANCEL_OK = {
    "status_sefaz": "135",
    "mensagem_sefaz": "Evento registrado e vinculado a NF-e",
    "status": "cancelado",
    "caminho_xml_cancelamento": "/arquivos_development/x-can.xml",
    "numero_protocolo": "141230000025397",
}
NFCE_NAO_AUTORIZADA = {"codigo": "nfe_nao_autorizada", "mensagem": "Nota fiscal não autorizada"}
NFCE_INUT_OK = {**{k: v for k, v in INUT_OK.items() if k != "protocolo_sefaz"}, "modelo": "65"}
NFCE_INUT_241 = {
    "status_sefaz": "241",
    "mensagem_sefaz": "Um numero da faixa ja foi utilizado",
    "serie": "1",
    "numero_inicial": "1",
    "numero_final": "9",
    "status": "erro_autorizacao",
}

NFSE_PROCESSANDO_POST = {
    "cnpj_prestador": "CNPJ_PRESTADOR",
    "ref": "REFERENCIA",
    "status": "processando_autorizacao",
}
NFSE_INVALIDA = {
    "codigo": "requisicao_invalida",
    "mensagem": 'Parâmetro "prestador.codigo_municipio" não informado',
}
NFSE_AUTORIZADO = {
    "cnpj_prestador": "07504505000132",
    "ref": "nfs-2",
    "numero_rps": "224",
    "serie_rps": "1",
    "status": "autorizado",
    "numero": "233",
    "codigo_verificacao": "DU1M-M2Y",
    "data_emissao": "2019-05-27T00:00:00-03:00",
    "url": "https://200.189.192.82/PilotoNota_Portal/Default.aspx?doc=07504505000132",
    "caminho_xml_nota_fiscal": "/arquivos/07504505000132_12345/202401/XMLsNFSe/x-nfse.xml",
}
NFSE_CANCELADO = {
    **NFSE_AUTORIZADO,
    "status": "cancelado",
    "caminho_xml_cancelamento": "/arquivos/07504505000132_12345/202401/XMLsNFSe/x-can.xml",
}
NFSE_ERRO = {
    "cnpj_prestador": "07504505000132",
    "ref": "nfs-2",
    "numero_rps": "224",
    "serie_rps": "1",
    "status": "erro_autorizacao",
    "erros": [
        {
            "codigo": "E145",
            "mensagem": "Regime Especial de Tributação ausente/inválido.",
            "correcao": None,
        }
    ],
}
NFSE_PROCESSANDO = {
    "cnpj_prestador": "07504505000132",
    "ref": "nfs-2",
    "numero_rps": "224",
    "serie_rps": "1",
    "status": "processando_autorizacao",
}
NFSE_CANCEL_OK = {"status": "cancelado"}
NFSE_CANCEL_ERRO = {
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
NFSE_JA_CANCELADA = {"codigo": "nfe_cancelada", "mensagem": "Nota Fiscal já cancelada"}

NFSEN_INVALIDA = {
    "codigo": "requisicao_invalida",
    "mensagem": 'Parâmetro "codigo_municipio_emissora" não informado',
}
NFSEN_AUTORIZADO = {
    "cnpj_prestador": "18765499000199",
    "ref": "12345",
    "numero_rps": "123",
    "serie_rps": "1",
    "tipo_rps": "1",
    "status": "autorizado",
    "numero": "1245",
    "codigo_verificacao": "12345678901234567890123456789012345678901234567890",
    "data_emissao": "2024-05-07T07:34:56-03:00",
    "url": "https://www.nfse.gov.br/consultapublica/?tpc=1&chave=1234",
    "caminho_xml_nota_fiscal": "/arquivos/18765499000199_166/202405/XMLsNFSe/x-nfse.xml",
    "url_danfse": "https://focusnfe.s3.sa-east-1.amazonaws.com/arquivos/x.pdf",
}
NFSEN_CANCELADO = {
    **NFSEN_AUTORIZADO,
    "status": "cancelado",
    "caminho_xml_cancelamento": "/arquivos/18765499000199_166/202405/XMLsNFSe/NFS1234-can.xml",
}
NFSEN_ERRO = {
    "cnpj_prestador": "18765499000199",
    "ref": "12345",
    "numero_rps": "123",
    "serie_rps": "1",
    "status": "erro_autorizacao",
    "erros": [{"codigo": "E0014", "mensagem": "Conjunto de Série, Número, ...", "correcao": None}],
}
NFSEN_PROCESSANDO = {
    "cnpj_prestador": "18765499000199",
    "ref": "12345",
    "numero_rps": "123",
    "serie_rps": "1",
    "tipo_rps": "1",
    "status": "processando_autorizacao",
}
LOTE_RESPOSTA = {
    "status": "autorizado",
    "numero": "9999",
    "codigo_verificacao": "311299647",
    "data_emissao": "2017-09-09T10:20:00-03:00",
    "uri": "https://www.barueri.sp.gov.br/nfe/",
}


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
