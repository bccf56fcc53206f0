"""GET /v2/<doc>/<ref>?completa=1 answers Focus's six completa objects however the note
learned its status (hook, poll), fetched from Focus at most once, and anew after a cancel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fiscal.focus.signals import focus_request
from fiscal.hooks import empresa_sync_hooks
from fiscal.models import Note, NoteStatus
from fiscal.render import COMPLETA_KEYS
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream, drive
from tests.fiscal.test_focus_hooks import wait_for
from tests.sandbox.helpers import nfce_payload, nfe_payload
from tests.support.file_links import comparable

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reads() -> Iterator[list[str]]:
    """The consultas the gateway made at Focus (endpoint templates)."""
    seen: list[str] = []

    def record(sender: object, endpoint: str, **kwargs: object) -> None:
        if endpoint.startswith("GET /v2/"):
            seen.append(endpoint)

    focus_request.connect(record, weak=False)
    yield seen
    focus_request.disconnect(record)


def _assert_completa(body: dict, *, cancelled: bool = False) -> None:
    assert set(COMPLETA_KEYS) <= set(body)
    assert body["requisicao_nota_fiscal"]["cnpj_emitente"] == VALID_CNPJ
    assert body["protocolo_nota_fiscal"]["numero_protocolo"]
    if cancelled:
        assert body["protocolo_cancelamento"] is not None
        assert body["requisicao_cancelamento"]["justificativa"].startswith("Cliente desistiu")
    else:
        assert body["protocolo_cancelamento"] is None


def test_a_note_settled_by_a_hook_answers_completa_fetched_once(
        settings, live_server, actor: Actor, other: Actor, empresa: Empresa,
        upstream: Upstream, reads: list[str]) -> None:
    settings.FG_PUBLIC_URL = live_server.url
    settings.FG_FOCUS_HOOKS_ENABLED = True
    empresa_sync_hooks(empresa=empresa)
    assert actor.client.post("/v2/nfe?ref=c-1", nfe_payload(VALID_CNPJ),
                             format="json").status_code == 202
    upstream.process()
    assert wait_for(lambda: Note.objects.get(ref="c-1").status == NoteStatus.AUTORIZADO)
    note = Note.objects.get(ref="c-1")
    assert note.sync_attempts == 0 and "requisicao_nota_fiscal" not in note.upstream
    reads.clear()

    basic = actor.client.get("/v2/nfe/c-1").json()
    assert not set(COMPLETA_KEYS) & set(basic)
    assert reads == []  # the normal read costs nothing at Focus

    first = actor.client.get("/v2/nfe/c-1?completa=1")
    assert first.status_code == 200
    _assert_completa(first.json())
    assert reads == ["GET /v2/nfe/{ref}"]
    # Kept: the next completa read is served from our copy.
    again = actor.client.get("/v2/nfe/c-1?completa=1").json()
    assert comparable(again) == comparable(first.json())
    assert reads == ["GET /v2/nfe/{ref}"]
    assert other.client.get("/v2/nfe/c-1?completa=1").status_code == 404


def test_a_note_settled_by_polling_answers_completa_without_a_read(
        actor: Actor, empresa: Empresa, upstream: Upstream, reads: list[str]) -> None:
    actor.client.post("/v2/nfe?ref=c-2", nfe_payload(VALID_CNPJ), format="json")
    drive(Note.objects.get(ref="c-2"), upstream=upstream)
    reads.clear()
    body = actor.client.get("/v2/nfe/c-2?completa=1").json()
    _assert_completa(body)
    assert reads == []


def test_completa_after_a_cancel_shows_the_cancellation(
        actor: Actor, empresa: Empresa, upstream: Upstream, reads: list[str]) -> None:
    actor.client.post("/v2/nfe?ref=c-3", nfe_payload(VALID_CNPJ), format="json")
    drive(Note.objects.get(ref="c-3"), upstream=upstream)
    _assert_completa(actor.client.get("/v2/nfe/c-3?completa=1").json())
    cancel = actor.client.delete("/v2/nfe/c-3", {"justificativa": "Cliente desistiu da compra"},
                                 format="json")
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelado"
    reads.clear()
    body = actor.client.get("/v2/nfe/c-3?completa=1").json()
    assert body["status"] == NoteStatus.CANCELADO
    _assert_completa(body, cancelled=True)
    assert reads == ["GET /v2/nfe/{ref}"]
    actor.client.get("/v2/nfe/c-3?completa=1")
    assert reads == ["GET /v2/nfe/{ref}"]


def test_nfce_answers_completa_too(actor: Actor, empresa: Empresa, upstream: Upstream) -> None:
    response = actor.client.post("/v2/nfce?ref=c-4", nfce_payload(VALID_CNPJ), format="json")
    assert response.status_code == 201 and response.json()["status"] == "autorizado"
    _assert_completa(actor.client.get("/v2/nfce/c-4?completa=1").json())


def test_completa_read_that_cannot_reach_focus_answers_what_we_have_and_tries_again(
        actor: Actor, empresa: Empresa, upstream: Upstream, reads: list[str], settings) -> None:
    from django.core.cache import cache

    from fiscal.focus.budget import acquire
    from fiscal.focus.client import token_fingerprint

    actor.client.post("/v2/nfe?ref=c-5", nfe_payload(VALID_CNPJ), format="json")
    note = drive(Note.objects.get(ref="c-5"), upstream=upstream)
    # The copy a hook leaves: the basic consulta only.
    Note.objects.filter(pk=note.pk).update(upstream={
        k: v for k, v in note.upstream.items() if k not in COMPLETA_KEYS})
    settings.FG_FOCUS_RATE_LIMIT = 3
    while acquire(fingerprint=token_fingerprint(empresa.token_homologacao), tenant_id=0,
                  urgent=True).allowed:
        pass
    reads.clear()
    body = actor.client.get("/v2/nfe/c-5?completa=1")
    assert body.status_code == 200 and body.json()["status"] == NoteStatus.AUTORIZADO
    assert not set(COMPLETA_KEYS) & set(body.json())  # nothing invented
    assert reads == []  # nothing sent
    cache.clear()  # the window passes
    _assert_completa(actor.client.get("/v2/nfe/c-5?completa=1").json())
    assert reads == ["GET /v2/nfe/{ref}"]
