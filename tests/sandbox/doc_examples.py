"""The example answers of focus-nfe-api-v2.txt, copied verbatim (test_doc_examples.py uses them).

Only what the document shows: the sandbox's own values differ, and the test compares shapes.
"""

from __future__ import annotations

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
