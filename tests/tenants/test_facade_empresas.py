from __future__ import annotations

from tenants.models import Empresa
from tests.conftest import Actor


def test_focus_style_company_list_with_total_count(actor: Actor, other: Actor,
                                                   make_empresa) -> None:
    mine = make_empresa(actor.tenant)
    make_empresa(other.tenant)
    response = actor.client.get("/v2/empresas")
    assert response.status_code == 200
    assert response["X-Total-Count"] == "1"
    assert [e["id"] for e in response.json()] == [mine.pk]
    assert actor.client.get("/v2/empresas?cnpj=00000000000000").json() == []


def test_focus_style_create_update_and_delete_disables(actor: Actor, other: Actor,
                                                       empresa_payload) -> None:
    # A test key sets only the homologação token (tests/test_environment_isolation.py).
    created = actor.client.post("/v2/empresas", empresa_payload(token_producao=None),
                                format="json")
    assert created.status_code == 200
    pk = created.json()["id"]
    assert other.client.get(f"/v2/empresas/{pk}").json()["codigo"] == "nao_encontrado"
    updated = actor.client.put(f"/v2/empresas/{pk}", {"nome_fantasia": "Outra"}, format="json")
    assert updated.json()["nome_fantasia"] == "Outra"
    deleted = actor.client.delete(f"/v2/empresas/{pk}")
    assert deleted.status_code == 200
    assert Empresa.objects.get(pk=pk).is_active is False


def test_focus_style_errors(actor: Actor, empresa_payload) -> None:
    invalid = actor.client.post("/v2/empresas", empresa_payload(cnpj="11222333000182"),
                                format="json")
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["codigo"] == "erro_validacao"
    assert body["erros"][0]["campo"] == "cnpj"

    # The companies' own table: 400 parametros_invalidos for JSON it cannot parse.
    broken = actor.client.post("/v2/empresas", data="{", content_type="application/json")
    assert broken.status_code == 400
    assert broken.json() == {"codigo": "parametros_invalidos",
                             "mensagem": "Existe um problema no JSON recebido"}

    missing = actor.client.get("/v2/empresas/abc")
    assert missing.status_code == 404
    assert missing.json()["codigo"] == "nao_encontrado"
    assert Empresa.objects.count() == 0


def test_oversized_body_on_the_facade_is_focus_shaped(actor: Actor, settings) -> None:
    settings.FG_MAX_BODY_BYTES = 100
    response = actor.client.post("/v2/empresas", data="{" + " " * 200 + "}",
                                 content_type="application/json")
    assert response.status_code == 413
    assert response.json()["codigo"] == "requisicao_invalida"
