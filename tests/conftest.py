from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from tenants.models import Empresa, Environment, Tenant
from tenants.services import IssuedKey, api_key_create, empresa_create, tenant_create

VALID_CNPJ = "11222333000181"
OTHER_CNPJ = "12ABC34501DE35"  # the Receita's own example of an alphanumeric CNPJ


@dataclass
class Actor:
    """A tenant with a test key, and a client authenticated with it."""

    tenant: Tenant
    key: IssuedKey
    client: APIClient


def basic(raw_key: str) -> str:
    return "Basic " + base64.b64encode(f"{raw_key}:".encode()).decode()


def make_actor(name: str, environment: str = Environment.HOMOLOGACAO) -> Actor:
    tenant = tenant_create(name=name)
    key = api_key_create(tenant=tenant, environment=environment, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(key.raw))
    return Actor(tenant=tenant, key=key, client=client)


def key_client(tenant: Tenant, environment: str) -> APIClient:
    """A client with a new key of ``environment`` for an existing tenant."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(
        api_key_create(tenant=tenant, environment=environment, name=environment).raw
    ))
    return client


def live_client(tenant: Tenant) -> APIClient:
    return key_client(tenant, Environment.PRODUCAO)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """The Focus request budget lives in the cache: each test starts with a full one."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _archive_in_tmp(settings, tmp_path) -> None:
    """Files archived by a test go to its own folder, never to the checkout's var/."""
    settings.FG_ARCHIVE_DIR = tmp_path / "archive"


@pytest.fixture(autouse=True)
def _no_focus_hooks_by_default(settings) -> None:
    """Registering Focus hooks needs a reachable gateway; the hook tests switch it on."""
    settings.FG_FOCUS_HOOKS_ENABLED = False


@pytest.fixture
def actor(db: None) -> Actor:
    return make_actor("Acme SaaS")


@pytest.fixture
def other(db: None) -> Actor:
    """A second tenant: every test that reads or writes should show it sees none of this."""
    return make_actor("Other SaaS")


@pytest.fixture
def empresa_payload() -> Callable[..., dict]:
    def build(**overrides: object) -> dict:
        data: dict = {
            "cnpj": VALID_CNPJ,
            "nome": "Padaria Exemplo Ltda",
            "nome_fantasia": "Padaria",
            "uf": "SP",
            "codigo_municipio": "3550308",
            "municipio": "São Paulo",
            "regime_tributario": 1,
            "habilita_nfe": True,
            "token_homologacao": "focus-homolog-token-123456",
            "token_producao": "focus-prod-token-abcdef",
        }
        data.update(overrides)
        return {k: v for k, v in data.items() if v is not None}

    return build


@pytest.fixture
def make_empresa(empresa_payload: Callable[..., dict]) -> Callable[..., Empresa]:
    def build(tenant: Tenant, **overrides: object) -> Empresa:
        return empresa_create(tenant=tenant, data=empresa_payload(**overrides))

    return build
