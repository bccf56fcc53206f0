from __future__ import annotations

import base64
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from core.crypto import secret_fingerprint
from sandbox.server import SandboxServer
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


@pytest.fixture(scope="session")
def gateway_sandbox() -> Iterator[SandboxServer]:
    """The sandbox the gateway's tests talk to: one per session, reset by each user."""
    from tests.fiscal.conftest import sandbox_company

    server = SandboxServer(
        host="127.0.0.1", port=0, companies=[sandbox_company()], hang_seconds=3.0,
        hook_schedule_scale=0.001,
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def account_sandbox() -> Iterator[SandboxServer]:
    """A sandbox with no company: the reseller account's tests create them."""
    server = SandboxServer(host="127.0.0.1", port=0, companies=[], hang_seconds=3.0).start()
    yield server
    server.stop()


@pytest.fixture
def actor(db: None) -> Actor:
    return make_actor("Acme SaaS")


@pytest.fixture
def other(db: None) -> Actor:
    """A second tenant: every test that reads or writes should show it sees none of this."""
    return make_actor("Other SaaS")


HOMOLOG_TOKEN = "focus-homolog-token-123456"
PROD_TOKEN = "focus-prod-token-abcdef"


def _taken(token: str, *, by_other_than: Tenant | None) -> bool:
    """Whether a tenant (other than ``by_other_than``) already holds the token."""
    held = Empresa.objects.filter(token_homologacao_fingerprint=secret_fingerprint(token))
    if by_other_than is not None:
        held = held.exclude(tenant=by_other_than)
    return held.exists()


@pytest.fixture
def empresa_payload() -> Callable[..., dict]:
    """A company's fields. A Focus token belongs to one tenant, so the sandbox's tokens go to
    the first company; once they are held, each payload gets tokens of its own."""
    calls = itertools.count(1)

    def build(**overrides: object) -> dict:
        homolog, prod = HOMOLOG_TOKEN, PROD_TOKEN
        if _taken(HOMOLOG_TOKEN, by_other_than=None):
            n = next(calls)
            homolog, prod = f"{HOMOLOG_TOKEN}-p{n}", f"{PROD_TOKEN}-p{n}"
        data: dict = {
            "cnpj": VALID_CNPJ,
            "nome": "Padaria Exemplo Ltda",
            "nome_fantasia": "Padaria",
            "uf": "SP",
            "codigo_municipio": "3550308",
            "municipio": "São Paulo",
            "regime_tributario": 1,
            "habilita_nfe": True,
            "token_homologacao": homolog,
            "token_producao": prod,
        }
        data.update(overrides)
        return {k: v for k, v in data.items() if v is not None}

    return build


@pytest.fixture
def make_empresa(empresa_payload: Callable[..., dict]) -> Callable[..., Empresa]:
    """A tenant's company. The first tenant gets the sandbox's tokens, every later tenant
    tokens of its own (the same ones for all its companies), so tests may make companies for
    two tenants side by side with no arguments."""

    def build(tenant: Tenant, **overrides: object) -> Empresa:
        if _taken(HOMOLOG_TOKEN, by_other_than=tenant):
            overrides.setdefault("token_homologacao", f"{HOMOLOG_TOKEN}-t{tenant.pk}")
            overrides.setdefault("token_producao", f"{PROD_TOKEN}-t{tenant.pk}")
        else:
            overrides.setdefault("token_homologacao", HOMOLOG_TOKEN)
            overrides.setdefault("token_producao", PROD_TOKEN)
        return empresa_create(tenant=tenant, data=empresa_payload(**overrides))

    return build
