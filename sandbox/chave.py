"""Identifiers SEFAZ builds from their parts: chave de acesso, CNPJ/CPF check digits, protocols.

Reference: Manual de Orientação do Contribuinte (MOC) 7.0, "Chave de Acesso"; NT 2025.001 and
IN RFB 2.229/2024 for the alphanumeric CNPJ (12 alphanumeric characters + 2 check digits, each
character weighted by its ASCII code minus 48, so digits keep their value).
"""

from __future__ import annotations

import hashlib
import re

# IBGE codes of the UFs: the first two digits of every chave.
UF_CODES: dict[str, str] = {
    "RO": "11", "AC": "12", "AM": "13", "RR": "14", "PA": "15", "AP": "16", "TO": "17",
    "MA": "21", "PI": "22", "CE": "23", "RN": "24", "PB": "25", "PE": "26", "AL": "27",
    "SE": "28", "BA": "29", "MG": "31", "ES": "32", "RJ": "33", "SP": "35", "PR": "41",
    "SC": "42", "RS": "43", "MS": "50", "MT": "51", "GO": "52", "DF": "53",
}  # fmt: skip

# Which virtual contingency authorizer serves each UF when its own SEFAZ is down
# (tpEmis 6 = SVC-AN, 7 = SVC-RS).
SVC_RS_UFS = frozenset({"AM", "BA", "GO", "MA", "MS", "MT", "PE", "PR"})

TP_EMIS_NORMAL = "1"
TP_EMIS_OFFLINE_NFCE = "9"

_CNPJ_RE = re.compile(r"^[0-9A-Z]{12}[0-9]{2}$")
_CPF_RE = re.compile(r"^[0-9]{11}$")


def _char_value(ch: str) -> int:
    return ord(ch) - 48


def mod11_dv(base: str, *, max_weight: int = 9) -> int:
    """Check digit of `base`: weights 2..max_weight from the right, 0 when remainder < 2."""
    total = 0
    weight = 2
    for ch in reversed(base):
        total += _char_value(ch) * weight
        weight = 2 if weight == max_weight else weight + 1
    remainder = total % 11
    return 0 if remainder < 2 else 11 - remainder


def only_id_chars(value: object) -> str:
    """Strip the punctuation people put in CNPJs/CPFs (dots, slashes, dashes), keep letters."""
    return re.sub(r"[^0-9A-Za-z]", "", str(value or "")).upper()


def valid_cnpj(value: str) -> bool:
    cnpj = only_id_chars(value)
    if not _CNPJ_RE.match(cnpj) or len(set(cnpj)) == 1:
        return False
    first = mod11_dv(cnpj[:12])
    second = mod11_dv(cnpj[:12] + str(first))
    return cnpj[12:] == f"{first}{second}"


def valid_cpf(value: str) -> bool:
    cpf = only_id_chars(value)
    if not _CPF_RE.match(cpf) or len(set(cpf)) == 1:
        return False
    # CPF weights run up to 10/11 instead of cycling at 9.
    first = mod11_dv(cpf[:9], max_weight=10)
    second = mod11_dv(cpf[:9] + str(first), max_weight=11)
    return cpf[9:] == f"{first}{second}"


def codigo_numerico(seed: str, numero: int) -> str:
    """The 8-digit cNF. Derived from the seed so the same request always yields the same chave;
    SEFAZ rejects a cNF equal to the note number, hence the nudge."""
    digest = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    cnf = digest % 100_000_000
    if cnf == numero:
        cnf = (cnf + 1) % 100_000_000
    return f"{cnf:08d}"


def build_chave(
    *,
    uf: str,
    aamm: str,
    emitente: str,
    modelo: str,
    serie: int,
    numero: int,
    tp_emis: str,
    cnf: str,
) -> str:
    """The 44-character chave: cUF AAMM CNPJ mod série nNF tpEmis cNF cDV.

    A CPF emitter takes the CNPJ slot left-padded with zeros, as SEFAZ does.
    """
    doc = only_id_chars(emitente).rjust(14, "0")
    base = f"{UF_CODES[uf]}{aamm}{doc}{modelo}{serie:03d}{numero:09d}{tp_emis}{cnf}"
    if len(base) != 43:
        raise ValueError(f"chave base has {len(base)} characters: {base}")
    return base + str(mod11_dv(base))


def chave_is_valid(chave: str) -> bool:
    return len(chave) == 44 and chave[-1] == str(mod11_dv(chave[:43]))


def build_chave_nfse_nacional(
    *,
    codigo_municipio: str,
    ambiente: str,
    inscricao: str,
    numero: int,
    aamm: str,
    seed: str,
) -> str:
    """The 50-digit chave of an NFS-e Nacional: cMun(7) ambGer(1) tpInsc(1) inscFed(14) nNFSe(13)
    AAMM(4) cNum(9) DV(1)."""
    doc = only_id_chars(inscricao)
    tp_insc = "1" if len(doc) == 11 else "2"
    cnum = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 1_000_000_000
    mun = re.sub(r"\D", "", str(codigo_municipio)).rjust(7, "0")[:7]
    base = f"{mun}{ambiente}{tp_insc}{doc.rjust(14, '0')}{numero:013d}{aamm}{cnum:09d}"
    return base + str(mod11_dv(base))


def protocolo(*, uf: str, ano: int, sequencia: int) -> str:
    """A 15-digit SEFAZ protocol: authorizer type, cUF, two-digit year, 10-digit sequence."""
    return f"1{UF_CODES.get(uf, '91')}{ano % 100:02d}{sequencia:010d}"
