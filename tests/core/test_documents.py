from __future__ import annotations

import pytest

from core.documents import cnpj_check_digits, is_valid_cnpj, is_valid_cpf, is_valid_municipio


@pytest.mark.parametrize(
    "value",
    [
        "11222333000181",
        "11.222.333/0001-81",
        "12ABC34501DE35",  # Receita Federal's published alphanumeric example
        "12.ABC.345/01DE-35",
        "12abc34501de35",  # lower case is normalised
    ],
)
def test_valid_cnpjs_are_accepted(value: str) -> None:
    assert is_valid_cnpj(value)


@pytest.mark.parametrize(
    "value",
    [
        "11222333000182",  # wrong check digit
        "12ABC34501DE36",  # wrong alphanumeric check digit
        "12ABC34501DE3A",  # check digits must be numeric
        "1122233300018",  # too short
        "00000000000000",  # all equal
        "11222333000181X",
        "",
    ],
)
def test_invalid_cnpjs_are_refused(value: str) -> None:
    assert not is_valid_cnpj(value)


def test_alphanumeric_check_digits_use_ascii_minus_48() -> None:
    # 'A' is worth 17: the rule of IN RFB 2.229/2024.
    assert cnpj_check_digits("12ABC34501DE") == "35"
    assert cnpj_check_digits("112223330001") == "81"


@pytest.mark.parametrize("value,valid", [
    ("529.982.247-25", True), ("52998224725", True), ("52998224724", False),
    ("11111111111", False), ("5299822472", False),
])
def test_cpf_check_digits(value: str, valid: bool) -> None:
    assert is_valid_cpf(value) is valid


def test_municipio_code_must_belong_to_the_uf() -> None:
    assert is_valid_municipio("3550308", "SP")
    assert not is_valid_municipio("3550308", "RJ")
    assert not is_valid_municipio("355030", "SP")
