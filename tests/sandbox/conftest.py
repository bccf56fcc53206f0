"""Fixtures for the sandbox suite: one in-process sandbox, reset for each test, over HTTP.

No Django, no database: the sandbox stands for a remote system.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from copy import deepcopy
from typing import Any

import httpx
import pytest

from sandbox.server import SandboxServer
from tests.sandbox.helpers import COMPANIES, Receiver
from tests.support.sandbox import reset_sandbox


@pytest.fixture(scope="session")
def _sandbox_server() -> Iterator[SandboxServer]:
    srv = SandboxServer(
        host="127.0.0.1",
        port=0,
        companies=deepcopy(COMPANIES),
        hook_schedule_scale=0.001,
        hang_seconds=2.0,
        nfce_efetivar_delay=3600.0,
    ).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def sandbox(_sandbox_server: SandboxServer) -> SandboxServer:
    """The session's sandbox, reset to its start (companies, config, clock, faults, hooks)."""
    reset_sandbox(_sandbox_server)
    return _sandbox_server


@pytest.fixture
def focus(sandbox: SandboxServer) -> Iterator[Callable[..., httpx.Client]]:
    """`focus("acme-hom")` is an httpx client authenticated with that token (Basic)."""
    clients: list[httpx.Client] = []

    def make(token: str | None = "acme-hom", **kwargs: Any) -> httpx.Client:  # noqa: S107
        auth = (token, "") if token is not None else None
        # Plain HTTP on loopback: skipping the CA bundle load saves ~50 ms per client.
        kwargs.setdefault("verify", False)
        client = httpx.Client(base_url=sandbox.url, auth=auth, timeout=10, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def acme(focus: Callable[..., httpx.Client]) -> httpx.Client:
    return focus("acme-hom")


@pytest.fixture
def control(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    url = f"{sandbox.url}/__sandbox__"
    with httpx.Client(base_url=url, timeout=10, verify=False) as client:  # noqa: S501 - loopback
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()
