"""What Focus checks at the door (first validation) and what SEFAZ/prefeitura decide later.

Outcomes are deterministic functions of the payload and the company:
1. an explicit trigger in a free-text field (see `parse_triggers`), then
2. the rules the documentation states (598, 591, the schema error, E145, E0014), then
3. authorization.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sandbox import ibscbs
from sandbox.state import HOMOLOGACAO, Company
from sandbox.wire import FocusError, missing

# Reference: focus-nfe-api-v2.txt, NFe "erro_autorizacao" example (status_sefaz 598).
HOMOLOGACAO_NOME = "NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL"

# Where each document type reads its triggers from.
TRIGGER_FIELD = {
    "nfe": "informacoes_adicionais_contribuinte",
    "nfce": "informacoes_adicionais_contribuinte",
    "nfse": "servico.discriminacao",
    "nfsen": "descricao_servico",
}

_TRIGGER_RE = re.compile(
    r"SANDBOX:(?P<verb>REJEITAR|DENEGAR|LENTO)(?::(?P<arg>[A-Za-z0-9.]+))?(?::(?P<msg>[^;\n]+))?",
    re.IGNORECASE,
)

# Messages for rejection codes a trigger may name without a message.
SEFAZ_MESSAGES = {
    "100": "Autorizado o uso da NF-e",
    "108": "Servico Paralisado Momentaneamente (curto prazo)",
    "135": "Evento registrado e vinculado a NF-e",
    "204": "Rejeicao: Duplicidade de NF-e",
    "225": "Rejeicao: Falha no Schema XML da NFe",
    "301": "Uso Denegado: Irregularidade fiscal do emitente",
    "302": "Uso Denegado: Irregularidade fiscal do destinatario",
    "303": "Uso Denegado: Destinatario nao habilitado a operar na UF",
    "501": "Rejeicao: Prazo de cancelamento superior ao previsto na Legislacao",
    "539": "Rejeicao: Duplicidade de NF-e, com diferenca na Chave de Acesso",
    "573": "Rejeicao: Duplicidade de Evento",
    "591": "Informado CSOSN para emissor que nao e do Simples Nacional (CRT diferente de 1).",
    "598": (
        "NF-e emitida em ambiente de homologacao com Razao Social do destinatario diferente de "
        + HOMOLOGACAO_NOME
    ),
    "778": "Rejeicao: Informado NCM inexistente",
}

NFSE_MESSAGES = {
    "E145": "Regime Especial de Tributação ausente/inválido.",
    "E523": "nota que você está tentando cancelar está fora do prazo permitido para cancelamento",
    "E0014": (
        "Conjunto de Série, Número, Código do Município Emissor e CNPJ/CPF informado nesta DPS "
        "já existe em uma NFS-e gerada a partir de uma DPS enviada anteriormente."
    ),
}

_REF_RE = re.compile(r"^[A-Za-z0-9_\-.]{1,100}$")


@dataclass
class Triggers:
    reject_code: str | None = None
    reject_message: str | None = None
    deny_code: str | None = None
    slow_seconds: float | None = None


def get_path(payload: dict[str, Any], dotted: str) -> Any:
    value: Any = payload
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def parse_triggers(text: Any) -> Triggers:
    """`SANDBOX:REJEITAR:<code>[:<mensagem>]`, `SANDBOX:DENEGAR[:<cStat>]`,
    `SANDBOX:LENTO:<seconds>` anywhere in the text; several may be combined."""
    found = Triggers()
    for match in _TRIGGER_RE.finditer(str(text or "")):
        verb, arg, msg = match.group("verb").upper(), match.group("arg"), match.group("msg")
        if verb == "REJEITAR":
            found.reject_code = arg or "999"
            found.reject_message = msg.strip() if msg else None
        elif verb == "DENEGAR":
            found.deny_code = arg or "302"
        elif verb == "LENTO":
            try:
                found.slow_seconds = float(arg or 5)
            except ValueError:
                found.slow_seconds = 5.0
    return found


def document_triggers(doc_type: str, payload: dict[str, Any]) -> Triggers:
    return parse_triggers(get_path(payload, TRIGGER_FIELD[doc_type]))


def check_ref(ref: str | None, *, doc_type: str) -> str:
    if not ref:
        raise missing("ref", codigo="ref_ausente" if doc_type == "nfce" else "requisicao_invalida")
    if not _REF_RE.match(ref):
        raise FocusError(
            400,
            "requisicao_invalida",
            "Referência inválida: use apenas letras, números, '-', '_' e '.'",
        )
    return ref


def items_of(payload: dict[str, Any]) -> list[Any]:
    # NFCe's table calls the array "itens" while every example uses "items": accept both.
    items = payload.get("items")
    if items is None:
        items = payload.get("itens")
    return items if isinstance(items, list) else []


# -- first validation ------------------------------------------------------------------------

_ITEM_REQUIRED = ("descricao", "cfop", "quantidade_comercial", "valor_unitario_comercial")


def validate_nfe(payload: dict[str, Any], *, doc_type: str) -> None:
    """Reference: NFe "Envio" (first validation) and "Status API" tables."""
    if not payload.get("cnpj_emitente") and not payload.get("cpf_emitente"):
        raise FocusError(
            400, "requisicao_invalida", "CNPJ do emitente não autorizado ou não informado."
        )
    if doc_type == "nfe" and not payload.get("natureza_operacao"):
        raise missing("natureza_operacao")
    items = items_of(payload)
    if not items:
        raise missing("items")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise FocusError(400, "requisicao_invalida", f"Item {index + 1} inválido")
        for name in _ITEM_REQUIRED:
            if item.get(name) in (None, ""):
                raise missing(f"items[{index}].{name}")
    if doc_type == "nfce":
        if not isinstance(payload.get("formas_pagamento"), list) or not payload["formas_pagamento"]:
            raise missing("formas_pagamento")
        return
    if not any(
        payload.get(k)
        for k in ("cnpj_destinatario", "cpf_destinatario", "id_estrangeiro_destinatario")
    ):
        # Reference: NFe "erro_validacao_schema" example answer.
        raise FocusError(
            422,
            "erro_validacao_schema",
            "Erro na validação do Schema XML, verifique o detalhamento dos erros",
            erros=[
                {
                    "mensagem": "Preencha pelo menos um documento do destinatário: "
                    "cnpj_destinatario ou cpf_destinatario",
                    "campo": None,
                }
            ],
        )


def validate_nfse(payload: dict[str, Any]) -> None:
    prestador = payload.get("prestador")
    if not isinstance(prestador, dict):
        raise missing("prestador")
    if not prestador.get("cnpj") and not prestador.get("cpf"):
        raise missing("prestador.cnpj")
    if not prestador.get("codigo_municipio"):
        raise missing("prestador.codigo_municipio")
    servico = payload.get("servico")
    if not isinstance(servico, dict):
        raise missing("servico")
    for name in ("discriminacao", "valor_servicos"):
        if servico.get(name) in (None, ""):
            raise missing(f"servico.{name}")


def validate_nfsen(payload: dict[str, Any]) -> None:
    if not payload.get("cnpj_prestador") and not payload.get("cpf_prestador"):
        raise missing("cnpj_prestador")
    for name in ("codigo_municipio_emissora", "descricao_servico", "valor_servico"):
        if payload.get(name) in (None, ""):
            raise missing(name)


def validate(doc_type: str, payload: dict[str, Any]) -> None:
    if doc_type in ("nfe", "nfce"):
        validate_nfe(payload, doc_type=doc_type)
    elif doc_type == "nfse":
        validate_nfse(payload)
    else:
        validate_nfsen(payload)


def emitter_document(doc_type: str, payload: dict[str, Any]) -> str:
    if doc_type in ("nfe", "nfce"):
        return str(payload.get("cnpj_emitente") or payload.get("cpf_emitente") or "")
    if doc_type == "nfse":
        prestador = payload.get("prestador") or {}
        return str(prestador.get("cnpj") or prestador.get("cpf") or "")
    return str(payload.get("cnpj_prestador") or payload.get("cpf_prestador") or "")


# -- what SEFAZ decides ----------------------------------------------------------------------


def _is_csosn(code: Any) -> bool:
    text = str(code or "").strip()
    return len(text) == 3 and text.isdigit()


def sefaz_outcome(
    *, doc_type: str, payload: dict[str, Any], company: Company, env: str
) -> dict[str, Any]:
    """The answer SEFAZ gives an NFe/NFCe: {kind, status_sefaz, mensagem_sefaz}."""
    trig = document_triggers(doc_type, payload)
    if trig.reject_code:
        code = trig.reject_code
        return {
            "kind": "rejeitar",
            "status_sefaz": code,
            "mensagem_sefaz": trig.reject_message
            or SEFAZ_MESSAGES.get(code, f"Rejeicao: codigo {code} (simulado pelo sandbox)"),
        }
    if trig.deny_code:
        code = trig.deny_code
        return {
            "kind": "denegar",
            "status_sefaz": code,
            "mensagem_sefaz": SEFAZ_MESSAGES.get(code, SEFAZ_MESSAGES["302"]),
        }
    try:
        # Reference: NT 2025.002-RTC v1.31, rules of groups B25, UB and W03 (sandbox/ibscbs.py).
        ibscbs.check(payload, items_of(payload), doc_type=doc_type)
    except ibscbs.Rejection as rejection:
        return {"kind": "rejeitar", "status_sefaz": rejection.code,
                "mensagem_sefaz": rejection.message}
    nome = payload.get("nome_destinatario")
    # NFCe may go without a named consumer; when one is named the homologação rule applies.
    needs_name = doc_type == "nfe" or nome not in (None, "")
    if env == HOMOLOGACAO and needs_name and str(nome or "").strip() != HOMOLOGACAO_NOME:
        return {"kind": "rejeitar", "status_sefaz": "598", "mensagem_sefaz": SEFAZ_MESSAGES["598"]}
    crt = _crt(payload, company)
    if crt not in (1, 4):
        for index, item in enumerate(items_of(payload), start=1):
            if isinstance(item, dict) and _is_csosn(item.get("icms_situacao_tributaria")):
                return {
                    "kind": "rejeitar",
                    "status_sefaz": "591",
                    "mensagem_sefaz": f"{SEFAZ_MESSAGES['591']} [nItem:{index}]",
                }
    return {"kind": "autorizar", "status_sefaz": "100", "mensagem_sefaz": SEFAZ_MESSAGES["100"]}


def _crt(payload: dict[str, Any], company: Company) -> int:
    value = payload.get("regime_tributario_emitente")
    try:
        return int(value) if value not in (None, "") else company.regime
    except (TypeError, ValueError):
        return company.regime


def nfse_outcome(
    *, doc_type: str, payload: dict[str, Any], dps_taken: bool = False
) -> dict[str, Any]:
    """The prefeitura's (or Ambiente Nacional's) answer: {kind, erros?}."""
    trig = document_triggers(doc_type, payload)
    if trig.reject_code:
        code = trig.reject_code
        mensagem = trig.reject_message or NFSE_MESSAGES.get(
            code, f"Rejeição {code} (simulada pelo sandbox)"
        )
        return {
            "kind": "rejeitar",
            "erros": [{"codigo": code, "mensagem": mensagem, "correcao": None}],
        }
    regime = payload.get("regime_especial_tributacao")
    if regime not in (None, "") and str(regime) not in {"0", "1", "2", "3", "4", "5", "6"}:
        return {
            "kind": "rejeitar",
            "erros": [{"codigo": "E145", "mensagem": NFSE_MESSAGES["E145"], "correcao": None}],
        }
    if dps_taken:
        return {
            "kind": "rejeitar",
            "erros": [{"codigo": "E0014", "mensagem": NFSE_MESSAGES["E0014"], "correcao": None}],
        }
    return {"kind": "autorizar"}


def check_justificativa(value: Any, *, doc_type: str = "nfe") -> str:
    """Reference: NFe "Status API": 15 to 255 characters."""
    if value in (None, ""):
        raise missing(
            "justificativa",
            codigo="justificativa_nao_informada" if doc_type == "nfce" else "requisicao_invalida",
        )
    text = str(value)
    if not 15 <= len(text) <= 255:
        raise FocusError(
            400,
            "requisicao_invalida",
            'Parâmetro "justificativa" deve ter entre 15 e 255 caracteres',
        )
    return text
