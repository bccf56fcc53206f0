"""Real HTTP receivers on 127.0.0.1, notes made through the ORM, the schedule run in-process."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from fiscal.changes import ChangeType, FiscalChange, publish
from fiscal.models import Note
from fiscal.render import note_consulta
from tenants.models import Empresa
from tests.conftest import Actor
from tests.support.http import Received, Receiver, Reply  # noqa: F401 - used by the tests
from webhooks import dispatch
from webhooks.delivery import delivery_attempt
from webhooks.dispatch import dispatch_due
from webhooks.endpoints import endpoint_create
from webhooks.models import Endpoint


@pytest.fixture(autouse=True)
def webhook_settings(settings) -> None:
    # Receivers run on 127.0.0.1: allowed for tests only.
    settings.FG_WEBHOOKS_ALLOW_LOOPBACK = True
    settings.FG_WEBHOOKS_REQUIRE_HTTPS = False
    settings.FG_WEBHOOKS_TIMEOUT = 2.0
    settings.FG_WEBHOOKS_CONNECT_TIMEOUT = 1.0
    settings.FG_CHANGE_SUBSCRIBERS = ["webhooks.events.on_fiscal_change"]


@pytest.fixture(autouse=True)
def enqueued(monkeypatch) -> list[tuple[int, str]]:
    """Celery messages the code would send, kept here: no worker runs in tests (the tests run
    the schedule themselves, or swap in Celery's eager mode where they test that path)."""
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(dispatch, "_celery_enqueue", lambda i, t: sent.append((i, t)))
    return sent


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def make_receiver() -> Iterator[Callable[[], Receiver]]:
    made: list[Receiver] = []

    def build() -> Receiver:
        made.append(Receiver())
        return made[-1]

    try:
        yield build
    finally:
        for r in made:
            r.stop()


@pytest.fixture
def empresa(actor: Actor, make_empresa) -> Empresa:
    return make_empresa(actor.tenant, habilita_nfse=True, habilita_nfce=True)


def make_note(empresa: Empresa, *, ref: str | None = None, doc_type: str = "nfe",
              status: str = "autorizado", environment: str = "homologacao",
              upstream: dict | None = None) -> Note:
    ref = ref or f"ref-{uuid.uuid4().hex[:8]}"
    upstream = upstream if upstream is not None else {
        "cnpj_emitente": empresa.cnpj, "ref": ref, "status": status, "status_sefaz": "100",
        "mensagem_sefaz": "Autorizado o uso da NF-e",
        "chave_nfe": "NFe41190607504505000132550010000000011234567890",
        "numero": "1", "serie": "1",
        "caminho_xml_nota_fiscal": "/arquivos_development/x/201906/XMLs/1-nfe.xml",
        "caminho_danfe": "/arquivos_development/x/201906/DANFEs/1.pdf",
    }
    return Note.objects.create(
        tenant=empresa.tenant, empresa=empresa, environment=environment, doc_type=doc_type,
        ref=ref, upstream_ref=uuid.uuid4().hex, payload={}, status=status, upstream=upstream,
        next_action="",
    )


def publish_note(note: Note, change_type: str = ChangeType.NOTE_AUTHORIZED) -> None:
    """What the lifecycle does on settle: publish inside its transaction."""
    with transaction.atomic():
        publish(FiscalChange(type=change_type, tenant=note.tenant, empresa=note.empresa,
                             data=note_consulta(note), note=note))


def create_endpoint(actor: Actor, url: str, **kwargs: Any) -> tuple[Endpoint, str]:
    created = endpoint_create(tenant=actor.tenant, environment="homologacao", url=url,
                                       **kwargs)
    return created.endpoint, created.secret


def run_due(now: datetime | None = None) -> list[str]:
    """One dispatcher run with the tasks executed in-process; the outcomes, in order."""
    outcomes: list[str] = []
    when = now or timezone.now()

    def execute(delivery_id: int, token: str) -> None:
        outcome = delivery_attempt(delivery_id=delivery_id, claim_token=token, now=when)
        outcomes.append(outcome.status)

    dispatch_due(now=when, enqueue=execute)
    return outcomes
