"""GET /v2/<nfe|nfce>/inutilizacoes: the company's voided ranges as Focus lists them, answered
from the gateway's own records (FocusNFe/api-doc _nfe.md / _nfce.md "Consulta de XMLs de
numerações inutilizadas")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fiscal.models import Inutilizacao
from tenants.models import Empresa
from tests.conftest import OTHER_CNPJ, VALID_CNPJ, Actor, live_client
from tests.fiscal.conftest import Upstream
from tests.fiscal.test_inutilizacao import inutilizar, make_row

FIELDS = ["status_sefaz", "mensagem_sefaz", "cnpj", "modelo", "serie", "numero_inicial",
          "numero_final", "status", "caminho_xml", "protocolo_sefaz"]


def listing(actor: Actor, doc_type: str = "nfe", **params: str):  # type: ignore[no-untyped-def]
    return actor.client.get(f"/v2/{doc_type}/inutilizacoes", {"cnpj": VALID_CNPJ, **params})


def test_listing_shows_the_voided_ranges_with_our_paths(
    actor: Actor, other: Actor, empresa: Empresa, upstream: Upstream, make_empresa
) -> None:
    voided = inutilizar(actor, numero_inicial="10", numero_final="12").json()
    assert inutilizar(actor, numero_inicial="12", numero_final="13").json()[
        "status"] == "erro_autorizacao"  # SEFAZ voided nothing: not listed
    row = Inutilizacao.objects.get(numero_inicial=10)
    make_row(empresa, 40, modelo="65")  # NFCe: only on /v2/nfce/inutilizacoes
    make_row(empresa, 50, environment="producao")  # the other environment
    make_row(empresa, 60, status="pendente")  # in doubt: nothing known to be voided
    make_row(make_empresa(other.tenant), 70)  # another tenant's company, same CNPJ

    response = listing(actor)
    assert response.status_code == 200, response.content
    assert response.json() == [{
        "status_sefaz": "102", "mensagem_sefaz": "Inutilizacao de numero homologado",
        "cnpj": VALID_CNPJ, "modelo": "55", "serie": "1", "numero_inicial": "10",
        "numero_final": "12", "status": "autorizado",
        "caminho_xml": f"/v2/arquivos/inutilizacoes/{row.pk}/xml",
        "protocolo_sefaz": voided["protocolo_sefaz"],
    }]
    assert list(response.json()[0]) == FIELDS
    assert voided["caminho_xml"] == response.json()[0]["caminho_xml"]
    assert [i["numero_inicial"] for i in listing(actor, "nfce").json()] == ["40"]
    assert [i["numero_inicial"] for i in live_client(actor.tenant).get(
        "/v2/nfe/inutilizacoes", {"cnpj": VALID_CNPJ}).json()] == ["50"]
    # The other tenant sees its own range only, never ours.
    assert [i["numero_inicial"] for i in listing(other).json()] == ["70"]


def test_listing_filters_by_number_and_reception_date(actor: Actor, empresa: Empresa) -> None:
    old = make_row(empresa, 5, status_sefaz="102", protocolo="1")
    make_row(empresa, 10, numero_final=20)
    make_row(empresa, 30)
    Inutilizacao.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=10))

    def numbers(**params: str) -> list[str]:
        response = listing(actor, **params)
        assert response.status_code == 200, response.content
        return [i["numero_inicial"] for i in response.json()]

    assert numbers() == ["5", "10", "30"]
    # Ranges reaching into [numero_inicial, numero_final].
    assert numbers(numero_inicial="15") == ["10", "30"]
    assert numbers(numero_final="15") == ["5", "10"]
    assert numbers(numero_inicial="21", numero_final="29") == []
    today = timezone.localdate()
    assert numbers(data_recebimento_inicial=today.isoformat()) == ["10", "30"]
    assert numbers(data_recebimento_final=(today - timedelta(days=1)).isoformat()) == ["5"]
    assert numbers(data_recebimento_inicial=(today - timedelta(days=10)).isoformat(),
                   data_recebimento_final=(today - timedelta(days=10)).isoformat()) == ["5"]


@pytest.mark.parametrize("params", [
    {"cnpj": ""}, {"cnpj": "11222333000100"}, {"cpf": "123"}, {"cnpj": "", "cpf": ""},
])
def test_listing_without_a_valid_cnpj_or_cpf_is_focus_400(actor: Actor, empresa: Empresa,
                                                          params: dict) -> None:
    response = actor.client.get("/v2/nfe/inutilizacoes", params)
    assert response.status_code == 400
    assert response.json()["codigo"] == "requisicao_invalida"
    assert response.json()["mensagem"] == 'Parâmetro "cnpj" ou "cpf" inválidos ou não informados'
    assert actor.client.get("/v2/nfe/inutilizacoes").status_code == 400


@pytest.mark.parametrize("params", [
    {"numero_inicial": "dez"}, {"numero_final": "0"}, {"numero_final": "1" * 12},
    {"data_recebimento_inicial": "31/12/2026"}, {"data_recebimento_final": "2026-02-30"},
])
def test_listing_refuses_bad_filters_in_focus_shape(actor: Actor, empresa: Empresa,
                                                    params: dict) -> None:
    response = listing(actor, **params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["codigo"] == "requisicao_invalida"
    assert next(iter(params)) in body["mensagem"]


def test_listing_of_a_company_not_the_tenants_is_refused(actor: Actor, other: Actor,
                                                         empresa: Empresa, make_empresa) -> None:
    make_empresa(other.tenant, cnpj=OTHER_CNPJ)
    response = listing(actor, cnpj=OTHER_CNPJ)
    assert response.status_code == 403
    assert response.json()["codigo"] == "permissao_negada"


def test_listing_takes_a_constant_number_of_queries(actor: Actor, empresa: Empresa) -> None:
    make_row(empresa, 1)
    listing(actor)  # the key's last_used_at is written on first use
    with CaptureQueriesContext(connection) as few:
        assert len(listing(actor).json()) == 1
    for numero in range(2, 40):
        make_row(empresa, numero)
    with CaptureQueriesContext(connection) as many:
        assert len(listing(actor).json()) == 39
    assert len(many) == len(few)


def test_a_note_may_not_take_the_listing_path(actor: Actor, empresa: Empresa) -> None:
    """The route comes before /v2/<doc>/<ref>: 'inutilizacoes' is never read as a ref."""
    response = actor.client.get("/v2/nfe/inutilizacoes", {"cnpj": VALID_CNPJ})
    assert response.status_code == 200 and response.json() == []
