"""The inline answer to a POST agrees with itself: when a hook settles the note between
Focus's 202 and the render, the answer is the settled note (its fields, Focus's code for it),
never Focus's 202 with a newer status laid over it."""

from __future__ import annotations

import httpx
import pytest
from django.db import transaction

from fiscal.focus.client import FocusClient
from fiscal.models import Note, NoteStatus
from fiscal.services import apply_upstream
from tenants.models import Empresa
from tests.conftest import HOMOLOG_TOKEN, VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream
from tests.sandbox.helpers import nfe_payload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def settled_in_between(monkeypatch, upstream: Upstream) -> None:
    """Focus answers the POST; before the gateway takes that answer in, SEFAZ decides and the
    hook's service applies Focus's consulta to the note."""
    real_emit = FocusClient.emit

    def emit_then_settle(self, doc_type, ref, payload, **kwargs):  # type: ignore[no-untyped-def]
        answer = real_emit(self, doc_type, ref, payload, **kwargs)
        assert answer.status_code == 202 and answer.data["status"] == NoteStatus.PROCESSANDO
        upstream.process()
        with httpx.Client(base_url=upstream.server.url, auth=(HOMOLOG_TOKEN, "")) as focus:
            consulta = focus.get(f"/v2/{doc_type}/{ref}").json()
        with transaction.atomic():
            note = Note.objects.select_for_update().get(upstream_ref=ref)
            apply_upstream(note, consulta, source="hook")
        return answer

    monkeypatch.setattr(FocusClient, "emit", emit_then_settle)


def test_a_note_settled_before_the_render_answers_as_settled(
        actor: Actor, empresa: Empresa, upstream: Upstream, settled_in_between: None) -> None:
    response = actor.client.post("/v2/nfe?ref=race-1", nfe_payload(VALID_CNPJ), format="json")
    body = response.json()
    assert body["status"] == NoteStatus.AUTORIZADO
    assert response.status_code == 201
    # The authorized note's fields, with our paths.
    assert body["chave_nfe"].startswith("NFe") and body["numero"]
    note = Note.objects.get(ref="race-1")
    assert body["caminho_xml_nota_fiscal"].startswith("/v2/arquivos/")
    assert body["ref"] == "race-1" and note.status == NoteStatus.AUTORIZADO
    # Same as a consulta of the note right after.
    consulta = actor.client.get("/v2/nfe/race-1").json()
    assert {k: body[k] for k in ("status", "chave_nfe", "numero", "serie")} == {
        k: consulta[k] for k in ("status", "chave_nfe", "numero", "serie")}
    assert upstream.counter(note.upstream_ref)["documents_created"] == 1


def test_without_the_race_the_answer_is_focus_s_own_202(actor: Actor, empresa: Empresa,
                                                        upstream: Upstream) -> None:
    response = actor.client.post("/v2/nfe?ref=race-2", nfe_payload(VALID_CNPJ), format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == NoteStatus.PROCESSANDO and "chave_nfe" not in body
