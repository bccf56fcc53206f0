from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import Empresa
from tests.conftest import OTHER_CNPJ, VALID_CNPJ, Actor


def test_create_and_retrieve_company(actor: Actor, other: Actor, empresa_payload) -> None:
    # A test key sets only the homologação token (tests/test_environment_isolation.py).
    response = actor.client.post("/api/v1/empresas", empresa_payload(token_producao=None),
                                 format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["cnpj"] == VALID_CNPJ
    assert body["nome"] == "Padaria Exemplo Ltda"
    assert body["habilita_nfe"] is True and body["habilita_nfce"] is False
    assert body["is_active"] is True
    empresa = Empresa.objects.get(pk=body["id"])
    assert empresa.tenant == actor.tenant

    assert actor.client.get(f"/api/v1/empresas/{body['id']}").json()["id"] == body["id"]
    hidden = other.client.get(f"/api/v1/empresas/{body['id']}")
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "not_found"


def test_alphanumeric_cnpj_and_cpf_companies(actor: Actor, empresa_payload) -> None:
    alpha = actor.client.post(
        "/api/v1/empresas", empresa_payload(cnpj="12.ABC.345/01DE-35", token_producao=None),
        format="json",
    )
    assert alpha.status_code == 201
    assert alpha.json()["cnpj"] == OTHER_CNPJ
    person = actor.client.post(
        "/api/v1/empresas", empresa_payload(cnpj=None, cpf="529.982.247-25", token_producao=None),
        format="json",
    )
    assert person.status_code == 201
    assert person.json()["cpf"] == "52998224725"


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"cnpj": "11222333000182"}, "cnpj"),
        ({"cnpj": "12ABC34501DE36"}, "cnpj"),
        ({"cnpj": None, "cpf": "52998224724"}, "cpf"),
        ({"cnpj": None}, "cnpj"),  # neither document
        ({"cpf": "52998224725"}, "cnpj"),  # both documents
        ({"uf": "XX"}, "uf"),
        ({"codigo_municipio": "3304557"}, "codigo_municipio"),  # Rio's code with uf=SP
        ({"regime_tributario": 9}, "regime_tributario"),
        ({"nome": ""}, "nome"),
        ({"habilita_boleto": True}, "habilita_boleto"),  # unknown field
    ],
)
def test_invalid_company_data_is_refused_with_the_field(actor: Actor, empresa_payload,
                                                        overrides: dict, field: str) -> None:
    response = actor.client.post("/api/v1/empresas", empresa_payload(**overrides), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in body["fields"], body
    assert Empresa.objects.count() == 0


def test_duplicate_company_is_a_conflict_but_other_tenants_may_have_it(
    actor: Actor, other: Actor, empresa_payload
) -> None:
    created = actor.client.post("/api/v1/empresas", empresa_payload(token_producao=None),
                                format="json")
    assert created.status_code == 201
    again = actor.client.post(
        "/api/v1/empresas", empresa_payload(cnpj="11.222.333/0001-81", token_producao=None),
        format="json",
    )
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_empresa"
    elsewhere = other.client.post("/api/v1/empresas", empresa_payload(token_producao=None),
                                  format="json")
    assert elsewhere.status_code == 201
    assert Empresa.objects.filter(cnpj=VALID_CNPJ).count() == 2


def test_update_is_partial_and_keeps_tokens(actor: Actor, other: Actor, make_empresa) -> None:
    empresa = make_empresa(actor.tenant)
    response = actor.client.patch(
        f"/api/v1/empresas/{empresa.pk}", {"nome_fantasia": "Nova", "habilita_nfce": True},
        format="json",
    )
    assert response.status_code == 200
    empresa.refresh_from_db()
    assert empresa.nome_fantasia == "Nova" and empresa.habilita_nfce
    assert empresa.token_producao == "focus-prod-token-abcdef"
    blocked = other.client.patch(f"/api/v1/empresas/{empresa.pk}", {"nome": "x"}, format="json")
    assert blocked.status_code == 404
    empresa.refresh_from_db()
    assert empresa.nome == "Padaria Exemplo Ltda"


def test_update_cannot_leave_the_company_without_a_document(actor: Actor, make_empresa) -> None:
    empresa = make_empresa(actor.tenant)
    response = actor.client.patch(f"/api/v1/empresas/{empresa.pk}", {"cnpj": ""}, format="json")
    assert response.status_code == 400
    empresa.refresh_from_db()
    assert empresa.cnpj == VALID_CNPJ


def test_disable_and_enable(actor: Actor, other: Actor, make_empresa) -> None:
    empresa = make_empresa(actor.tenant)
    assert other.client.post(f"/api/v1/empresas/{empresa.pk}/disable").status_code == 404
    response = actor.client.post(f"/api/v1/empresas/{empresa.pk}/disable")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    empresa.refresh_from_db()
    assert not empresa.enabled_for("nfe")
    listing = actor.client.get("/api/v1/empresas?is_active=false").json()["results"]
    assert [e["id"] for e in listing] == [empresa.pk]
    actor.client.post(f"/api/v1/empresas/{empresa.pk}/enable")
    empresa.refresh_from_db()
    assert empresa.enabled_for("nfe")


def test_list_is_scoped_filtered_paginated_and_constant_in_queries(
    actor: Actor, other: Actor, make_empresa
) -> None:
    from core.documents import cnpj_check_digits

    def cnpj(n: int) -> str:
        base = f"{n:08d}0001"
        return base + cnpj_check_digits(base)

    for n in range(1, 4):
        make_empresa(actor.tenant, cnpj=cnpj(n))
    make_empresa(other.tenant, cnpj=cnpj(99))

    with CaptureQueriesContext(connection) as few:
        first = actor.client.get("/api/v1/empresas?limit=2").json()
    assert len(first["results"]) == 2
    second = actor.client.get(first["next"]).json()
    assert len(second["results"]) == 1
    ids = [e["id"] for e in first["results"] + second["results"]]
    assert len(set(ids)) == 3

    for n in range(4, 30):
        make_empresa(actor.tenant, cnpj=cnpj(n))
    with CaptureQueriesContext(connection) as many:
        body = actor.client.get("/api/v1/empresas?limit=50").json()
    assert len(body["results"]) == 29
    assert len(many) == len(few)

    filtered = actor.client.get(f"/api/v1/empresas?cnpj={cnpj(2)}").json()["results"]
    assert [e["cnpj"] for e in filtered] == [cnpj(2)]
    assert actor.client.get(f"/api/v1/empresas?cnpj={cnpj(99)}").json()["results"] == []


def test_malformed_json_wrong_content_type_and_oversized_bodies(actor: Actor, settings) -> None:
    bad = actor.client.post("/api/v1/empresas", data="{nome:", content_type="application/json")
    assert bad.status_code == 400
    assert bad.json()["code"] == "malformed_request"

    form = actor.client.post("/api/v1/empresas", data="nome=x", content_type="text/plain")
    assert form.status_code == 415
    assert form.json()["code"] == "unsupported_media_type"

    settings.FG_MAX_BODY_BYTES = 1000
    big = actor.client.post(
        "/api/v1/empresas", data=json.dumps({"nome": "x" * 2000}), content_type="application/json"
    )
    assert big.status_code == 413
    assert big.json()["code"] == "payload_too_large"

    deep: object = "leaf"
    for _ in range(100):
        deep = {"a": deep}
    nested = actor.client.post("/api/v1/empresas", data=json.dumps(deep),
                               content_type="application/json")
    assert nested.status_code == 400
    assert nested.json()["code"] == "malformed_request"
    assert Empresa.objects.count() == 0


def test_openapi_schema_and_docs_are_served(db: None, client) -> None:
    schema = client.get("/api/schema")
    assert schema.status_code == 200
    assert b"/api/v1/empresas" in schema.content
    assert b"/api/v1/api-keys" in schema.content
    assert client.get("/api/docs").status_code == 200
