"""Tax reform (IBS, CBS) on NFe/NFCe: SEFAZ's coherence rules and the XML groups they live in.

Reference: NT 2025.002-RTC "Reforma Tributária do Consumo - Adequações NF-e / NFC-e", versão
1.31 (novembro de 2025): layout groups B25 (finNFe 5/6, tpNFDebito, tpNFCredito), UB12-UB67
(det/imposto/IBSCBS) and W34-W56 (total/IBSCBSTot), and the "Regras de Validação" whose codes
and messages are used below. Focus's names: FocusNFe/api-doc ``_nfse.md`` documents
``ibs_cbs_situacao_tributaria``, ``ibs_cbs_classificacao_tributaria``, ``ibs_cbs_base_calculo``,
``ibs_uf_aliquota``, ``ibs_mun_aliquota``, ``cbs_aliquota``, ``ibs_uf_valor``, ``ibs_mun_valor``
and ``cbs_valor`` (for NFSe ``servico``), taken here on each NFe item; the totals
``ibs_valor_total`` / ``cbs_valor_total`` and ``tipo_nota_credito`` / ``tipo_nota_debito`` are
not in that repository (see sandbox/README.md).

As the NT says, the IBS/CBS rules run only on documents that carry the new fields. What the
sandbox does not judge (the cClassTrib table's indicators, the rates of each year, reductions,
deferral, presumed credit) is listed in sandbox/README.md.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from typing import Any

CST = "ibs_cbs_situacao_tributaria"
CLASS = "ibs_cbs_classificacao_tributaria"
BASE = "ibs_cbs_base_calculo"
# (rate field, value field, XML group, rate tag, value tag, rejection code and message)
PARTS = (
    ("ibs_uf_aliquota", "ibs_uf_valor", "gIBSUF", "pIBSUF", "vIBSUF",
     "1041", "Rejeicao: Valor do IBS da UF difere do calculado"),  # UB35-10
    ("ibs_mun_aliquota", "ibs_mun_valor", "gIBSMun", "pIBSMun", "vIBSMun",
     "1052", "Rejeicao: Valor do IBS Municipal difere do calculado"),  # UB54-10
    ("cbs_aliquota", "cbs_valor", "gCBS", "pCBS", "vCBS",
     "1069", "Rejeicao: Valor da CBS difere do calculado"),  # UB67-10
)
ITEM_FIELDS = (CST, CLASS, BASE, *(name for part in PARTS for name in part[:2]))
TOTAL_FIELDS = ("ibs_valor_total", "cbs_valor_total")

# Tabela CST do IBS/CBS (Portal Nacional da NF-e, "Tabela de CST e cClassTrib") as it stood in
# November 2025 (cross-checked with the cClassTrib table of that date: every cClassTrib starts
# with one of these). The sandbox checks existence only, not each code's indicators.
CST_CODES = frozenset({
    "000", "010", "011", "200", "220", "221", "222", "400", "410", "510", "515", "550", "620",
    "800", "810", "811", "820", "830",
})
TIPOS_NOTA_DEBITO = frozenset({f"{n:02d}" for n in range(1, 9)})  # B25.1: 01..08
TIPOS_NOTA_CREDITO = frozenset({f"{n:02d}" for n in range(1, 5)})  # B25.2: 01..04

_CENT = Decimal("0.01")
TOLERANCE = _CENT  # "Aceitar uma tolerância de 0,01 a mais ou a menos" (UB35, UB54, UB67)


class Rejection(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code, self.message = code, message


def _schema(detail: str) -> Rejection:
    # Schema failures are cStat 225; the SVRS-style authorizers append what failed.
    return Rejection("225", f"Rejeicao: Falha no Schema XML da NFe [{detail}]")


def _number(value: Any, where: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _schema(f"{where}: valor numerico invalido") from None
    if not number.is_finite() or number < 0:
        raise _schema(f"{where}: valor numerico invalido")
    return number


def _code(value: Any) -> str:
    return str(value).strip() if value not in (None, "") else ""


def _finalidade(payload: dict[str, Any]) -> str:
    return _code(payload.get("finalidade_emissao")) or "1"


def _tipo(payload: dict[str, Any], name: str) -> str:
    code = _code(payload.get(name))
    return code.zfill(2) if code.isdigit() else code


def n_item(item: dict[str, Any], position: int) -> str:
    """The item's number as the XML's det/@nItem carries it, for SEFAZ's "[nItem: N]"."""
    return str(item.get("numero_item") or position)


def item_has_ibscbs(item: Any) -> bool:
    return isinstance(item, dict) and any(item.get(n) not in (None, "") for n in ITEM_FIELDS)


def check_finalidade(payload: dict[str, Any]) -> None:
    """Group B rules of the NT for notes of crédito (finNFe 5) and débito (finNFe 6)."""
    finalidade = _finalidade(payload)
    debito, credito = _tipo(payload, "tipo_nota_debito"), _tipo(payload, "tipo_nota_credito")
    if debito and debito not in TIPOS_NOTA_DEBITO:
        raise _schema(f"tpNFDebito: valor {debito} fora do dominio 01-08")
    if credito and credito not in TIPOS_NOTA_CREDITO:
        raise _schema(f"tpNFCredito: valor {credito} fora do dominio 01-04")
    if debito and finalidade != "6":  # B25.1-10
        raise Rejection("1139", "Rejeicao: Tipo de nota de credito/debito informado indevidamente")
    if finalidade == "6" and not debito:  # B25.1-20
        raise Rejection("1009", "Rejeicao: Nao informado tipo de nota de credito/debito")
    if credito and finalidade != "5":  # B25.2-10
        raise Rejection("1163", "Rejeicao: Tipo de nota de credito informado indevidamente")
    if finalidade == "5" and not credito:  # B25.2-20
        raise Rejection("1164", "Rejeicao: Nao informado tipo de nota de credito")
    tipo_operacao = _code(payload.get("tipo_documento")) or "1"
    if finalidade == "5" and tipo_operacao != "0":  # B25-110
        raise Rejection("1161", "Rejeicao: Tipo de Operacao incompativel com NF-e de Credito")
    if finalidade == "6" and tipo_operacao != "1":  # B25-120
        raise Rejection("1162", "Rejeicao: Tipo de Operacao incompativel com NF-e de Debito")


def item_values(item: dict[str, Any], number: str) -> dict[str, Decimal]:
    """The item's IBS/CBS values, checked: {vBC, vIBSUF, vIBSMun, vIBS, vCBS} (present ones)."""
    where = f"nItem:{number}"
    cst, klass = _code(item.get(CST)), _code(item.get(CLASS))
    if not cst:
        raise _schema(f"{where} elemento IBSCBS incompleto: esperado CST")
    if len(cst) != 3 or not cst.isdigit():
        raise _schema(f"{where} CST do IBS/CBS deve ter 3 digitos")
    if cst not in CST_CODES:  # UB13-10
        raise Rejection("1020", f"Rejeicao: CST do IBS/CBS informado inexistente [nItem: {number}]")
    if not klass:  # cClassTrib is 1-1 in IBSCBS: its absence fails the schema
        raise _schema(f"{where} elemento IBSCBS incompleto: esperado cClassTrib")
    if len(klass) != 6 or not klass.isdigit():
        raise _schema(f"{where} cClassTrib deve ter 6 digitos")
    if klass[:3] != cst:  # UB14-20: the classification's first three digits are its CST
        raise Rejection(
            "1024",
            "Rejeicao: Classificacao Tributaria do IBS e da CBS incompativel com o CST informado "
            f"[nItem: {number}]",
        )
    values: dict[str, Decimal] = {}
    group_fields = [n for n in ITEM_FIELDS[2:] if item.get(n) not in (None, "")]
    if not group_fields:
        return values  # IBSCBS without gIBSCBS (e.g. CST 410)
    if item.get(BASE) in (None, ""):
        raise _schema(f"{where} elemento gIBSCBS incompleto: esperado vBC")
    base = _number(item[BASE], f"{where} vBC")
    values["vBC"] = base
    for rate_name, value_name, group, rate_tag, value_tag, code, message in PARTS:
        rate, value = item.get(rate_name), item.get(value_name)
        if rate in (None, "") and value in (None, ""):
            # Neither sent: a zero rate (the municipal IBS is 0% in 2026, art. 343 LC 214/25).
            rate, value = 0, 0
        elif rate in (None, "") or value in (None, ""):
            # pX and vX are both required in each of gIBSUF, gIBSMun and gCBS.
            missing = rate_tag if rate in (None, "") else value_tag
            raise _schema(f"{where} elemento {group} incompleto: esperado {missing}")
        rate_d = _number(rate, f"{where} {rate_tag}")
        value_d = _number(value, f"{where} {value_tag}")
        expected = (base * rate_d / 100).quantize(_CENT)
        if abs(expected - value_d) > TOLERANCE:
            raise Rejection(code, f"{message} [nItem: {number}]")
        values[rate_tag], values[value_tag] = rate_d, value_d
    values["vIBS"] = values["vIBSUF"] + values["vIBSMun"]  # UB54a: vIBS = vIBSUF + vIBSMun
    return values


def check(payload: dict[str, Any], items: list[Any], *,
          doc_type: str = "nfe") -> dict[str, Decimal] | None:
    """Raise ``Rejection`` for an incoherent document; the totals it will carry otherwise
    (None when no item has IBS/CBS). The finNFe 5/6 rules are the NFe's (modelo 55)."""
    if doc_type == "nfe":
        check_finalidade(payload)
    totals_given = {n: payload.get(n) for n in TOTAL_FIELDS if payload.get(n) not in (None, "")}
    taxed = [(n_item(item, n), item) for n, item in enumerate(items, start=1)
             if item_has_ibscbs(item)]
    if not taxed:
        if totals_given:  # W34-10
            raise Rejection("1118", "Rejeicao: Total de IBS e CBS informado indevidamente")
        return None
    totals = {"vBCIBSCBS": Decimal(0), "vIBSUF": Decimal(0), "vIBSMun": Decimal(0),
              "vIBS": Decimal(0), "vCBS": Decimal(0)}
    for number, item in taxed:
        values = item_values(item, number)
        totals["vBCIBSCBS"] += values.get("vBC", Decimal(0))
        for tag in ("vIBSUF", "vIBSMun", "vIBS", "vCBS"):
            totals[tag] += values.get(tag, Decimal(0))
    # Not sent, the sandbox sums them from the items (whether Focus does is not documented);
    # sent, they must match the items.
    for name, tag, code, message in (
        ("ibs_valor_total", "vIBS", "1085", "Total do IBS difere da soma do vIBS dos itens"),
        ("cbs_valor_total", "vCBS", "1091", "Total de CBS difere da soma dos itens"),
    ):
        if name in totals_given:
            given = _number(totals_given[name], tag)
            if abs(given - totals[tag]) > TOLERANCE:  # W47-10, W56-10
                raise Rejection(code, f"Rejeicao: {message}")
    return totals


# -- XML -------------------------------------------------------------------------------------


def _sub(parent: ET.Element, tag: str, text: Any = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def write_ide(ide: ET.Element, payload: dict[str, Any]) -> None:
    """tpNFDebito / tpNFCredito (B25.1, B25.2), right after finNFe."""
    if _tipo(payload, "tipo_nota_debito"):
        _sub(ide, "tpNFDebito", _tipo(payload, "tipo_nota_debito"))
    if _tipo(payload, "tipo_nota_credito"):
        _sub(ide, "tpNFCredito", _tipo(payload, "tipo_nota_credito"))


def write_item(imposto: ET.Element, item: dict[str, Any], number: str) -> None:
    """det/imposto/IBSCBS (UB12): CST, cClassTrib and, with a base, gIBSCBS."""
    if not item_has_ibscbs(item):
        return
    try:
        values = item_values(item, number)
    except Rejection:
        # Only a document SEFAZ did not judge on these rules (denied by a trigger, imported)
        # gets here: its group is written as sent, without the values.
        values = {}
    group = _sub(imposto, "IBSCBS")
    _sub(group, "CST", _code(item.get(CST)))
    _sub(group, "cClassTrib", _code(item.get(CLASS)))
    if "vBC" not in values:
        return
    g = _sub(group, "gIBSCBS")
    _sub(g, "vBC", f"{values['vBC']:.2f}")
    for _rate_name, _value_name, tag, rate_tag, value_tag, _rejection, _message in PARTS:
        if tag == "gCBS":
            _sub(g, "vIBS", f"{values['vIBS']:.2f}")  # UB54a, between gIBSMun and gCBS
        part = _sub(g, tag)
        _sub(part, rate_tag, f"{values[rate_tag]:.4f}")
        _sub(part, value_tag, f"{values[value_tag]:.2f}")


def write_totals(total: ET.Element, payload: dict[str, Any], items: list[Any], *,
                 doc_type: str) -> None:
    """total/IBSCBSTot (W34), summed from the items (what SEFAZ checks the document against)."""
    try:
        totals = check(payload, items, doc_type=doc_type)
    except Rejection:
        return  # not judged on these rules (see write_item)
    if totals is None:
        return
    zero = "0.00"
    tot = _sub(total, "IBSCBSTot")
    _sub(tot, "vBCIBSCBS", f"{totals['vBCIBSCBS']:.2f}")
    gibs = _sub(tot, "gIBS")
    for group, tag in (("gIBSUF", "vIBSUF"), ("gIBSMun", "vIBSMun")):
        part = _sub(gibs, group)
        _sub(part, "vDif", zero)
        _sub(part, "vDevTrib", zero)
        _sub(part, tag, f"{totals[tag]:.2f}")
    _sub(gibs, "vIBS", f"{totals['vIBS']:.2f}")
    _sub(gibs, "vCredPres", zero)
    _sub(gibs, "vCredPresCondSus", zero)
    gcbs = _sub(tot, "gCBS")
    _sub(gcbs, "vDif", zero)
    _sub(gcbs, "vDevTrib", zero)
    _sub(gcbs, "vCBS", f"{totals['vCBS']:.2f}")
    _sub(gcbs, "vCredPres", zero)
    _sub(gcbs, "vCredPresCondSus", zero)
