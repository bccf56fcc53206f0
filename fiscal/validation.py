"""The first validation Focus does before accepting a document, done here so that an obviously
broken request is refused at once, with Focus's answer, and no note is written.

Reference: focus-nfe-api-v2.txt, "Envio" of each document type, and the "Erros" table. Only the
structure is checked (required fields, items, the emitter's document); everything else is
Focus's and SEFAZ's to judge, and reaches the tenant as their answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings

from core.documents import is_valid_cnpj, is_valid_cpf, normalize
from core.errors import FocusError
from core.parsers import json_depth

# The one ref alphabet: the URL routes (fiscal/urls.py) match refs with this pattern, and the
# POST accepts no other, so every ref accepted is reachable by GET and DELETE. ASCII only:
# str.isalnum() would also take "ç" or "ǅ", which no route matches.
REF_PATTERN = r"[A-Za-z0-9_.-]+"
REF_MAX_LENGTH = 100
# The document types whose notes live at /v2/<doc>/<ref> (the routes of fiscal/ and webhooks/).
DOC_TYPE_PATTERN = r"nfe|nfce|nfse|nfsen"
_REF = re.compile(REF_PATTERN)


def _missing(field: str, codigo: str = "requisicao_invalida") -> FocusError:
    return FocusError(
        codigo,
        f"Parâmetro \"{field}\" não informado",
        erros=[{"codigo": codigo, "campo": field, "mensagem": f"{field} não informado"}],
    )


def _invalid(field: str, what: str) -> FocusError:
    return FocusError(
        "requisicao_invalida",
        f"{what} inválido: {field}",
        erros=[{"codigo": "requisicao_invalida", "campo": field, "mensagem": f"{what} inválido"}],
    )


def emitter_document(doc_type: str, payload: dict[str, Any]) -> tuple[str, str]:
    """(field name, normalised CNPJ/CPF) of the company that emits the document."""
    if doc_type in ("nfe", "nfce"):
        candidates = ("cnpj_emitente", "cpf_emitente")
        source = payload
    elif doc_type == "nfse":
        source = payload.get("prestador") if isinstance(payload.get("prestador"), dict) else {}
        candidates = ("cnpj", "cpf")
    else:
        candidates = ("cnpj_prestador", "cpf_prestador")
        source = payload
    for name in candidates:
        value = source.get(name)
        if value:
            field = f"prestador.{name}" if doc_type == "nfse" else name
            return field, normalize(str(value))
    field = "prestador.cnpj" if doc_type == "nfse" else candidates[0]
    raise _missing(field)


def validate_ref(ref: str | None, *, doc_type: str = "") -> str:
    if not ref:
        # Reference: focus-nfe-api-v2.txt, NFCe "Status API": 400 ref_ausente.
        raise _missing("ref", "ref_ausente" if doc_type == "nfce" else "requisicao_invalida")
    # "." and ".." are URL dot-segments: clients remove them (RFC 3986 §5.2.4), so a GET of
    # /v2/nfe/.. never reaches the note.
    if len(ref) > REF_MAX_LENGTH or not _REF.fullmatch(ref) or ref in (".", ".."):
        raise FocusError(
            "requisicao_invalida",
            "Referência inválida: use até 100 letras, números, '-', '_' ou '.'",
        )
    return ref


def parse_json_body(raw: bytes) -> Any:
    """A body taken as sent (not through DRF's parsers), read as Focus reads JSON."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        # Focus answers 415 for a body it cannot parse.
        raise FocusError("requisicao_invalida", "JSON inválido", status_code=415) from None
    if json_depth(data) > settings.FG_MAX_JSON_DEPTH:
        raise FocusError("requisicao_invalida", "JSON aninhado demais", status_code=415)
    return data


def validate_document(doc_type: str, payload: Any) -> tuple[str, str]:
    """Raise Focus's 400 for a structurally broken document; return the emitter's document."""
    if not isinstance(payload, dict) or not payload:
        raise FocusError("requisicao_invalida", "O corpo da requisição deve ser um objeto JSON")
    field, document = emitter_document(doc_type, payload)
    kind = "cpf" if field.endswith("cpf") or field.startswith("cpf") else "cnpj"
    if kind == "cnpj" and not is_valid_cnpj(document):
        raise _invalid(field, "CNPJ")
    if kind == "cpf" and not is_valid_cpf(document):
        raise _invalid(field, "CPF")
    if doc_type in ("nfe", "nfce"):
        items = payload.get("items", payload.get("itens"))
        if not isinstance(items, list) or not items:
            raise _missing("items")
        if not all(isinstance(item, dict) for item in items):
            raise _invalid("items", "Item")
        if doc_type == "nfe" and not payload.get("natureza_operacao"):
            raise _missing("natureza_operacao")
    elif doc_type == "nfse":
        if not isinstance(payload.get("servico"), dict):
            raise _missing("servico")
    elif doc_type == "nfsen" and payload.get("valor_servico") in (None, ""):
        raise _missing("valor_servico")
    return field, document
