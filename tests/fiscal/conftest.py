"""The gateway against the sandbox over real HTTP, steps run in-process (no worker)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from django.utils import timezone

from fiscal import steps
from fiscal.focus.client import reset_clients
from fiscal.models import NextAction, Note
from sandbox.server import SandboxServer
from tenants.models import Empresa
from tests.conftest import HOMOLOG_TOKEN, PROD_TOKEN, VALID_CNPJ, Actor
from tests.sandbox.helpers import nfe_payload
from tests.support.sandbox import reset_sandbox


def sandbox_company(cnpj: str = VALID_CNPJ, **overrides: object) -> dict:
    company = {
        "cnpj": cnpj, "nome": "Padaria Exemplo Ltda", "uf": "PR", "regime_tributario": 1,
        "habilita_nfe": True, "habilita_nfce": True, "habilita_nfse": True,
        "habilita_nfsen_homologacao": True, "habilita_nfsen_producao": True,
        "token_homologacao": HOMOLOG_TOKEN, "token_producao": PROD_TOKEN,
    }
    company.update(overrides)
    return company


@dataclass
class Upstream:
    """The sandbox, and its control API."""

    server: SandboxServer
    control: httpx.Client

    def fault(self, mode: str, **rule: object) -> None:
        response = self.control.post("/faults", json={"mode": mode, **rule})
        assert response.status_code == 201, response.text

    def counters(self, doc_type: str | None = None) -> list[dict]:
        params = {"doc_type": doc_type} if doc_type else {}
        return self.control.get("/counters", params=params).json()["counters"]

    def counter(self, upstream_ref: str) -> dict:
        rows = self.control.get("/counters", params={"ref": upstream_ref}).json()["counters"]
        assert len(rows) == 1, rows
        return rows[0]

    def process(self) -> None:
        self.control.post("/process", json={})


@pytest.fixture
def upstream(settings, gateway_sandbox: SandboxServer) -> Iterator[Upstream]:
    """The session's sandbox (tests/conftest.py), reset: one company, the test tokens."""
    server = gateway_sandbox
    reset_sandbox(server)
    settings.FOCUS_URL_HOMOLOGACAO = server.url
    settings.FOCUS_URL_PRODUCAO = server.url
    settings.FOCUS_READ_TIMEOUT = 1.0
    settings.FG_INLINE_SUBMIT_TIMEOUT = 1.0
    settings.FG_FOCUS_HOOKS_ENABLED = False
    reset_clients()
    control = httpx.Client(base_url=f"{server.url}/__sandbox__", timeout=10)
    try:
        yield Upstream(server=server, control=control)
    finally:
        control.close()
        reset_clients()


@pytest.fixture
def empresa(actor: Actor, make_empresa) -> Empresa:
    return make_empresa(actor.tenant, uf="PR", codigo_municipio="4106902",
                        habilita_nfse=True, habilita_nfsen=True, habilita_nfce=True)


def drive(note: Note, *, upstream: Upstream | None = None, max_steps: int = 40) -> Note:
    """Run the schedule for one note until it has no work left, without waiting for time:
    each round makes the next step due now, claims it like the dispatcher and runs it."""
    for _ in range(max_steps):
        note.refresh_from_db()
        if note.next_action == NextAction.NONE:
            return note
        if upstream is not None:
            upstream.process()
        Note.objects.filter(pk=note.pk).update(next_action_at=timezone.now(), claim_token="")
        for note_id, _action, token in steps.dispatch_due_notes():
            steps.note_run_step(note_id=note_id, token=token)
        time.sleep(0.01)
    note.refresh_from_db()
    raise AssertionError(f"note {note.pk} still has work after {max_steps} steps: {note}")


@pytest.fixture
def drive_note(upstream: Upstream) -> Callable[[Note], Note]:
    return lambda note: drive(note, upstream=upstream)


@pytest.fixture
def nfe_xml(upstream: Upstream) -> bytes:
    """The XML of an NFe the sandbox authorized, straight from Focus (issued "elsewhere")."""
    with httpx.Client(base_url=upstream.server.url, auth=(HOMOLOG_TOKEN, "")) as focus:
        assert focus.post("/v2/nfe", params={"ref": "origem"},
                          json=nfe_payload(VALID_CNPJ)).status_code == 202
        upstream.process()
        consulta = focus.get("/v2/nfe/origem").json()
        assert consulta["status"] == "autorizado"
        return focus.get(consulta["caminho_xml_nota_fiscal"]).content
