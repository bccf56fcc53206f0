"""The sandbox over real HTTP, as Focus's empresas API for a tenant with an account token."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from fiscal.focus.client import reset_clients
from sandbox.server import SandboxServer
from sandbox.state import DEFAULT_ACCOUNT_TOKEN
from tenants.services import tenant_set_focus_account_token
from tests.conftest import Actor
from tests.fiscal.conftest import Upstream
from tests.support.sandbox import reset_sandbox


class Account(Upstream):
    def companies(self, cnpj: str | None = None) -> list[dict]:
        """Focus's companies as Focus holds them (read on the control API: no budget spent)."""
        found = self.control.get("/companies").json()
        return [c for c in found if cnpj is None or c.get("cnpj") == cnpj]


@pytest.fixture
def account(settings, account_sandbox: SandboxServer) -> Iterator[Account]:
    server = account_sandbox
    reset_sandbox(server)
    settings.FOCUS_URL_HOMOLOGACAO = server.url
    settings.FOCUS_URL_PRODUCAO = server.url
    settings.FOCUS_READ_TIMEOUT = 1.0
    reset_clients()
    control = httpx.Client(base_url=f"{server.url}/__sandbox__", timeout=10)
    try:
        yield Account(server=server, control=control)
    finally:
        control.close()
        reset_clients()


@pytest.fixture
def reseller(actor: Actor, account: Account) -> Actor:
    """The first tenant, with the sandbox's account token configured."""
    tenant_set_focus_account_token(tenant=actor.tenant, token=DEFAULT_ACCOUNT_TOKEN)
    return actor
