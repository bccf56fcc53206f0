"""Brazilian taxpayer numbers: CNPJ (numeric and the new alphanumeric form) and CPF.

Alphanumeric CNPJ (Receita Federal, IN RFB 2.229/2024, issued from July 2026): 12 characters of
[0-9A-Z] followed by two numeric check digits. Each character is worth its ASCII code minus 48
(so '0'..'9' keep their value and 'A' is 17), and the check digits are computed with the same
modulo-11 weights as before. A numeric CNPJ is the special case with digits only.
"""

from __future__ import annotations

import re

_CNPJ_SHAPE = re.compile(r"^[0-9A-Z]{12}[0-9]{2}$")
_FORMATTING = re.compile(r"[.\-/\s]")
_CNPJ_WEIGHTS_1 = (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_CNPJ_WEIGHTS_2 = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def normalize(value: str) -> str:
    """Strip the usual punctuation (12.345.678/0001-95) and upper-case letters."""
    return _FORMATTING.sub("", value or "").upper()


def _mod11_digit(values: list[int], weights: tuple[int, ...]) -> int:
    remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def cnpj_check_digits(base12: str) -> str:
    values = [ord(char) - 48 for char in base12]
    first = _mod11_digit(values, _CNPJ_WEIGHTS_1)
    second = _mod11_digit([*values, first], _CNPJ_WEIGHTS_2)
    return f"{first}{second}"


def is_valid_cnpj(value: str) -> bool:
    cnpj = normalize(value)
    if not _CNPJ_SHAPE.match(cnpj):
        return False
    if len(set(cnpj)) == 1:  # 00000000000000 and friends pass the arithmetic but are not real
        return False
    return cnpj[12:] == cnpj_check_digits(cnpj[:12])


def is_valid_cpf(value: str) -> bool:
    cpf = normalize(value)
    if len(cpf) != 11 or not cpf.isdigit() or len(set(cpf)) == 1:
        return False
    digits = [int(c) for c in cpf]
    for size in (9, 10):
        total = sum(d * w for d, w in zip(digits[:size], range(size + 1, 1, -1), strict=True))
        check = (total * 10) % 11 % 10
        if check != digits[size]:
            return False
    return True


# IBGE codes of the 27 federative units: the first two digits of every município code.
UF_IBGE = {
    "RO": "11", "AC": "12", "AM": "13", "RR": "14", "PA": "15", "AP": "16", "TO": "17",
    "MA": "21", "PI": "22", "CE": "23", "RN": "24", "PB": "25", "PE": "26", "AL": "27",
    "SE": "28", "BA": "29", "MG": "31", "ES": "32", "RJ": "33", "SP": "35", "PR": "41",
    "SC": "42", "RS": "43", "MS": "50", "MT": "51", "GO": "52", "DF": "53",
}


def is_valid_municipio(code: str, uf: str) -> bool:
    """A 7-digit IBGE município code that belongs to the given UF."""
    return len(code) == 7 and code.isdigit() and UF_IBGE.get(uf) == code[:2]
