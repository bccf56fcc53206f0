"""A Focus token belongs to one tenant: whoever holds it can read the company's hooks at Focus
(their secrets included) and post forged deliveries, so a second tenant may not register it."""

from __future__ import annotations

import importlib
import threading

import pytest
from django.apps import apps
from django.db import connection, transaction

from core.errors import Conflict
from tenants.models import Empresa
from tenants.services import empresa_create
from tests.conftest import OTHER_CNPJ, VALID_CNPJ, Actor, live_client
from tests.support.db_locks import wait_until_another_backend_waits_on_me

TOKEN = "victims-focus-token-0001"
LIVE_TOKEN = "victims-focus-token-live"


@pytest.fixture
def victim(actor: Actor, make_empresa) -> Empresa:
    return make_empresa(actor.tenant, token_homologacao=TOKEN, token_producao=LIVE_TOKEN)


@pytest.mark.parametrize("field,token", [("token_homologacao", TOKEN),
                                         ("token_producao", LIVE_TOKEN)])
def test_native_create_with_another_tenants_token_is_a_conflict(
    victim: Empresa, other: Actor, empresa_payload, field: str, token: str
) -> None:
    # A key sets only its own environment's token, so each token goes with its own key.
    if field == "token_producao":
        client, payload = live_client(other.tenant), empresa_payload(token_producao=token,
                                                                     token_homologacao=None)
    else:
        client, payload = other.client, empresa_payload(token_homologacao=token,
                                                        token_producao=None)
    response = client.post("/api/v1/empresas", payload, format="json")
    assert response.status_code == 409, response.content
    assert response.json() == {
        "code": "focus_token_in_use",
        "message": "This Focus token is already registered by another tenant; a Focus token "
                   "belongs to one tenant.",
        "fields": {field: ["Registered by another tenant."]},
    }
    assert not Empresa.objects.filter(tenant=other.tenant).exists()


def test_facade_create_with_another_tenants_token_is_a_conflict_in_focus_shape(
    victim: Empresa, other: Actor, empresa_payload
) -> None:
    response = other.client.post("/v2/empresas",
                                 empresa_payload(token_homologacao=TOKEN, token_producao=None),
                                 format="json")
    assert response.status_code == 409, response.content
    body = response.json()
    assert set(body) == {"codigo", "mensagem"} and body["codigo"] == "focus_token_in_use"
    assert not Empresa.objects.filter(tenant=other.tenant).exists()


def test_update_to_another_tenants_token_is_a_conflict_on_both_apis(
    victim: Empresa, other: Actor, make_empresa
) -> None:
    theirs = make_empresa(other.tenant)
    before = (theirs.token_homologacao, theirs.token_producao)
    native = live_client(other.tenant).patch(f"/api/v1/empresas/{theirs.pk}",
                                             {"token_producao": LIVE_TOKEN}, format="json")
    assert native.status_code == 409 and native.json()["code"] == "focus_token_in_use"
    facade = other.client.put(f"/v2/empresas/{theirs.pk}", {"token_homologacao": TOKEN},
                              format="json")
    assert facade.status_code == 409 and facade.json()["codigo"] == "focus_token_in_use"
    theirs.refresh_from_db()
    assert (theirs.token_homologacao, theirs.token_producao) == before
    victim.refresh_from_db()
    assert (victim.token_homologacao, victim.token_producao) == (TOKEN, LIVE_TOKEN)


def test_the_same_tenant_may_use_its_token_for_several_companies(
    victim: Empresa, actor: Actor, empresa_payload
) -> None:
    # Focus lets one token (an account's) emit for several CNPJs of its holder.
    response = actor.client.post(
        "/api/v1/empresas",
        empresa_payload(cnpj=OTHER_CNPJ, token_homologacao=TOKEN, token_producao=None),
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Empresa.objects.filter(tenant=actor.tenant).count() == 2


def test_a_company_without_a_token_conflicts_with_nobody(actor: Actor, other: Actor,
                                                         make_empresa) -> None:
    make_empresa(actor.tenant, token_producao=None)
    make_empresa(other.tenant, token_producao=None)
    assert Empresa.objects.filter(token_producao_fingerprint="").count() == 2


def test_the_fingerprint_is_keyed_and_follows_the_token(victim: Empresa, actor: Actor) -> None:
    import hashlib

    fingerprint = victim.token_homologacao_fingerprint
    assert len(fingerprint) == 64 and fingerprint != hashlib.sha256(TOKEN.encode()).hexdigest()
    assert TOKEN not in fingerprint
    actor.client.patch(f"/api/v1/empresas/{victim.pk}", {"token_homologacao": "replaced-0001"},
                       format="json")
    victim.refresh_from_db()
    assert victim.token_homologacao_fingerprint not in ("", fingerprint)
    assert victim.token_producao_fingerprint  # untouched, still there


@pytest.mark.django_db(transaction=True)
def test_two_tenants_registering_one_token_at_once_cannot_both_succeed(
    actor: Actor, other: Actor, empresa_payload
) -> None:
    first_written = threading.Event()
    results: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                empresa_create(tenant=actor.tenant, data=empresa_payload(token_homologacao=TOKEN))
                first_written.set()
                # Hold the transaction open until the other tenant's write waits for it.
                results["collided"] = wait_until_another_backend_waits_on_me(timeout=5)
            results["first"] = "ok"
        finally:
            first_written.set()
            connection.close()

    def second() -> None:
        first_written.wait(5)
        try:
            empresa_create(tenant=other.tenant, data=empresa_payload(token_homologacao=TOKEN))
            results["second"] = "ok"
        except Conflict as exc:
            results["second"] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == {"collided": True, "first": "ok", "second": "focus_token_in_use"}
    assert list(Empresa.objects.filter(token_homologacao_fingerprint=Empresa.objects.get(
        tenant=actor.tenant).token_homologacao_fingerprint).values_list("tenant", flat=True)) == [
        actor.tenant.pk]


def test_the_migration_fills_fingerprints_of_existing_companies(victim: Empresa, actor: Actor,
                                                                other: Actor,
                                                                make_empresa) -> None:
    migration = importlib.import_module("tenants.migrations.0003_empresa_focus_token_fingerprints")
    theirs = make_empresa(other.tenant)
    expected = dict(Empresa.objects.values_list("pk", "token_homologacao_fingerprint"))
    Empresa.objects.update(token_homologacao_fingerprint="", token_producao_fingerprint="")
    migration.fill_fingerprints(apps, None)
    assert dict(Empresa.objects.values_list("pk", "token_homologacao_fingerprint")) == expected
    assert expected[theirs.pk] != expected[victim.pk]


def test_the_migration_refuses_tokens_already_shared_by_two_tenants(
    victim: Empresa, other: Actor, make_empresa
) -> None:
    migration = importlib.import_module("tenants.migrations.0003_empresa_focus_token_fingerprints")
    theirs = make_empresa(other.tenant, cnpj=VALID_CNPJ)
    # As it was before the rule: the same token under two tenants, fingerprints not yet filled.
    Empresa.objects.update(token_homologacao_fingerprint="", token_producao_fingerprint="")
    theirs.token_homologacao = TOKEN
    Empresa.save(theirs, update_fields=["token_homologacao"])
    Empresa.objects.update(token_homologacao_fingerprint="", token_producao_fingerprint="")
    with pytest.raises(RuntimeError, match="more than one tenant"):
        migration.fill_fingerprints(apps, None)
