"""Payloads, constants and small helpers shared by the sandbox tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.support.http import Receiver as HttpReceiver
from tests.support.http import Reply

HOMOLOGACAO_NOME = "NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL"
ACCOUNT = "sandbox-account-token"

# Every CNPJ/CPF below has valid check digits; 12ABC34501DE35 is the Receita's own example of
# the alphanumeric CNPJ.
ACME = "07504505000132"  # PR, Simples Nacional, everything enabled, asynchronous
NORMAL = "11222333000181"  # SP, Regime Normal, no NFSe
SYNC = "44555666000181"  # MG, synchronous NFe
SYNC_SP = "77888999000181"  # SP asks for synchronous NFe: SP never answers synchronously
ALFA = "12ABC34501DE35"  # RS, alphanumeric CNPJ
PRODUTOR_CPF = "12345678909"  # a CPF emitter (produtor rural)

COMPANIES: list[dict[str, Any]] = [
    {
        "cnpj": ACME,
        "nome": "ACME LTDA",
        "uf": "PR",
        "regime_tributario": 1,
        "habilita_nfe": True,
        "habilita_nfce": True,
        "habilita_nfse": True,
        "habilita_nfsen_homologacao": True,
        "habilita_nfsen_producao": True,
        "nfe_sincrono": False,
        "token_homologacao": "acme-hom",
        "token_producao": "acme-prod",
    },
    {
        "cnpj": NORMAL,
        "nome": "Normal SA",
        "uf": "SP",
        "regime_tributario": 3,
        "habilita_nfe": True,
        "habilita_nfce": True,
        "habilita_nfse": False,
        "habilita_nfsen_homologacao": False,
        "habilita_nfsen_producao": False,
        "token_homologacao": "normal-hom",
        "token_producao": "normal-prod",
    },
    {
        "cnpj": SYNC,
        "nome": "Sync ME",
        "uf": "MG",
        "regime_tributario": 1,
        "habilita_nfe": True,
        "nfe_sincrono": True,
        "token_homologacao": "sync-hom",
        "token_producao": "sync-prod",
    },
    {
        "cnpj": SYNC_SP,
        "nome": "Sync SP",
        "uf": "SP",
        "regime_tributario": 1,
        "habilita_nfe": True,
        "nfe_sincrono": True,
        "token_homologacao": "syncsp-hom",
        "token_producao": "syncsp-prod",
    },
    {
        "cnpj": ALFA,
        "nome": "Alfa Numerica",
        "uf": "RS",
        "regime_tributario": 1,
        "habilita_nfe": True,
        "habilita_nfce": True,
        "habilita_nfse": True,
        "habilita_nfsen_homologacao": True,
        "token_homologacao": "alfa-hom",
        "token_producao": "alfa-prod",
    },
    {
        "cpf": PRODUTOR_CPF,
        "nome": "Produtor Rural",
        "uf": "GO",
        "regime_tributario": 1,
        "habilita_nfe": True,
        "token_homologacao": "cpf-hom",
        "token_producao": "cpf-prod",
    },
]


def nfe_payload(cnpj: str = ACME, **overrides: Any) -> dict[str, Any]:
    """The documentation's example NFe (focus-nfe-api-v2.txt, "Envio"), for `cnpj`."""
    payload: dict[str, Any] = {
        "natureza_operacao": "Remessa",
        "data_emissao": "2026-01-15T12:00:00-03:00",
        "tipo_documento": 1,
        "finalidade_emissao": 1,
        "cnpj_emitente": cnpj,
        "nome_emitente": "ACME LTDA",
        "uf_emitente": "PR",
        "nome_destinatario": HOMOLOGACAO_NOME,
        "cpf_destinatario": "03055054911",
        "valor_total": 47.23,
        "valor_produtos": 47.23,
        "modalidade_frete": 0,
        "items": [
            {
                "numero_item": 1,
                "codigo_produto": 1232,
                "descricao": "Cartões de Visita",
                "cfop": 5923,
                "unidade_comercial": "un",
                "quantidade_comercial": 100,
                "valor_unitario_comercial": 0.4723,
                "valor_unitario_tributavel": 0.4723,
                "unidade_tributavel": "un",
                "codigo_ncm": 49111090,
                "quantidade_tributavel": 100,
                "valor_bruto": 47.23,
                "icms_situacao_tributaria": "400",
                "icms_origem": 0,
                "pis_situacao_tributaria": "07",
                "cofins_situacao_tributaria": "07",
            }
        ],
    }
    if len(cnpj) == 11:
        payload.pop("cnpj_emitente")
        payload["cpf_emitente"] = cnpj
    payload.update(overrides)
    return payload


def taxed_item(number: int, valor: float, **overrides: Any) -> dict[str, Any]:
    """An item with IBS/CBS at the 2026 test rates: IBS UF 0.1 %, IBS Mun 0 %, CBS 0.9 %."""
    item = {
        "numero_item": number, "codigo_produto": f"P{number}", "descricao": f"Produto {number}",
        "cfop": 5102, "unidade_comercial": "un", "quantidade_comercial": 1,
        "valor_unitario_comercial": valor, "valor_bruto": valor, "codigo_ncm": 49111090,
        "icms_situacao_tributaria": "400", "icms_origem": 0,
        "ibs_cbs_situacao_tributaria": "000", "ibs_cbs_classificacao_tributaria": "000001",
        "ibs_cbs_base_calculo": valor,
        "ibs_uf_aliquota": 0.1, "ibs_uf_valor": round(valor * 0.001, 2),
        "ibs_mun_aliquota": 0, "ibs_mun_valor": 0,
        "cbs_aliquota": 0.9, "cbs_valor": round(valor * 0.009, 2),
    }
    item.update(overrides)
    return item


def reform_payload(*items: dict[str, Any], cnpj: str = ACME, **overrides: Any) -> dict[str, Any]:
    """An NFe with IBS/CBS on every item and coherent totals (two items by default)."""
    items = items or (taxed_item(1, 1000.00), taxed_item(2, 250.00))
    total = sum(i["valor_bruto"] for i in items)
    payload = nfe_payload(cnpj, items=list(items), valor_produtos=total, valor_total=total)
    payload["ibs_valor_total"] = round(
        sum((i["ibs_uf_valor"] or 0) + (i["ibs_mun_valor"] or 0) for i in items), 2
    )
    payload["cbs_valor_total"] = round(sum(i["cbs_valor"] or 0 for i in items), 2)
    payload.update(overrides)
    return payload


def nfce_payload(cnpj: str = ACME, **overrides: Any) -> dict[str, Any]:
    """The documentation's example NFCe."""
    payload: dict[str, Any] = {
        "cnpj_emitente": cnpj,
        "data_emissao": "2026-01-15T13:54:31-03:00",
        "indicador_inscricao_estadual_destinatario": "9",
        "modalidade_frete": "9",
        "local_destino": "1",
        "presenca_comprador": "1",
        "natureza_operacao": "VENDA AO CONSUMIDOR",
        "items": [
            {
                "numero_item": "1",
                "codigo_ncm": "62044200",
                "quantidade_comercial": "1.00",
                "quantidade_tributavel": "1.00",
                "cfop": "5102",
                "valor_unitario_tributavel": "79.00",
                "valor_unitario_comercial": "79.00",
                "valor_desconto": "0.00",
                "descricao": "NOTA FISCAL EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL",
                "codigo_produto": "251887",
                "icms_origem": "0",
                "icms_situacao_tributaria": "102",
                "unidade_comercial": "un",
                "unidade_tributavel": "un",
                "valor_total_tributos": "24.29",
            }
        ],
        "formas_pagamento": [
            {
                "forma_pagamento": "03",
                "valor_pagamento": "79.00",
                "nome_credenciadora": "Cielo",
                "bandeira_operadora": "02",
                "numero_autorizacao": "R07242",
            }
        ],
    }
    payload.update(overrides)
    return payload


def nfse_payload(cnpj: str = ACME, **servico: Any) -> dict[str, Any]:
    """The documentation's example NFSe."""
    return {
        "data_emissao": "2026-01-15T22:15:00",
        "prestador": {"cnpj": cnpj, "inscricao_municipal": "12345", "codigo_municipio": "4106902"},
        "tomador": {
            "cnpj": "07504505000132",
            "razao_social": "Acras Tecnologia LTDA",
            "email": "contato@focusnfe.com.br",
            "endereco": {
                "logradouro": "Rua Dias da Rocha Filho",
                "numero": "999",
                "bairro": "Alto da XV",
                "codigo_municipio": "4106902",
                "uf": "PR",
                "cep": "80045165",
            },
        },
        "servico": {
            "aliquota": 3,
            "discriminacao": "Nota fiscal referente a serviços prestados",
            "iss_retido": "false",
            "item_lista_servico": "0107",
            "codigo_tributario_municipio": "620910000",
            "valor_servicos": 1.0,
            **servico,
        },
    }


def nfsen_payload(cnpj: str = ACME, **overrides: Any) -> dict[str, Any]:
    """The documentation's example NFSe Nacional."""
    payload: dict[str, Any] = {
        "data_emissao": "2026-01-15T07:34:56-0300",
        "data_competencia": "2026-01-15",
        "codigo_municipio_emissora": 4106902,
        "cnpj_prestador": cnpj,
        "inscricao_municipal_prestador": "12345",
        "codigo_opcao_simples_nacional": 2,
        "regime_especial_tributacao": 0,
        "cnpj_tomador": "07504505000132",
        "razao_social_tomador": "Acras Tecnologia da Informação LTDA",
        "codigo_municipio_tomador": 4106902,
        "cep_tomador": "80045165",
        "codigo_municipio_prestacao": 4106902,
        "codigo_tributacao_nacional_iss": "010701",
        "descricao_servico": "Nota emitida em caráter de TESTE",
        "valor_servico": 1.00,
        "tributacao_iss": 1,
        "tipo_retencao_iss": 1,
    }
    payload.update(overrides)
    return payload


def delete(client: httpx.Client, url: str, **kwargs: Any) -> httpx.Response:
    """DELETE with a JSON body, as Focus's cancellation takes one."""
    return client.request("DELETE", url, **kwargs)


def counters(control: httpx.Client, ref: str, doc_type: str | None = None) -> dict[str, Any]:
    params = {"ref": ref, **({"doc_type": doc_type} if doc_type else {})}
    rows = control.get("/counters", params=params).json()["counters"]
    assert len(rows) == 1, rows
    return rows[0]


# -- a hook receiver ---------------------------------------------------------------------------


class Receiver(HttpReceiver):
    """A local HTTP endpoint recording what the sandbox POSTs; fails the first ``fail`` calls."""

    def __init__(self) -> None:
        super().__init__(default=Reply(body=b""))
        # The sandbox tests read the hook URL as an attribute.
        self.url = super().url("/focus-hook")  # type: ignore[assignment]

    @property
    def fail(self) -> int:
        with self._lock:
            return len(self.replies)

    @fail.setter
    def fail(self, count: int) -> None:
        with self._lock:
            self.replies[:] = [Reply(status=500, body=b"")] * count

    @property
    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"path": r.path, "headers": r.sent_headers, "json": json.loads(r.body or b"null")}
                for r in self.requests
            ]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.calls

    def close(self) -> None:
        self.stop()


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def advance_past_retry(control: httpx.Client, *, attempts: int, seconds: float) -> None:
    """Once ``attempts`` hook deliveries failed and the retry is queued, move the sandbox clock
    ``seconds`` on: the retry is due at once instead of after a real wait of its schedule."""
    def queued() -> bool:
        state = control.get("/hook-deliveries").json()
        return len(state["deliveries"]) >= attempts and state["pending"] >= 1

    wait_until(queued)
    control.post("/clock", json={"advance_seconds": seconds})
