"""A note Focus refused at its first validation (a 4xx to the POST) does not exist at Focus:
the facade answers 404 for it as Focus does, the native API keeps it, the ref is free again."""

from __future__ import annotations

import pytest

from fiscal.models import NextAction, Note, NoteEvent, NoteStatus
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream, drive
from tests.sandbox.helpers import nfe_payload

pytestmark = pytest.mark.django_db(transaction=True)


def _refused(actor: Actor, ref: str) -> Note:
    # The recipient without CPF/CNPJ passes our structural check; Focus's schema check refuses.
    payload = nfe_payload(VALID_CNPJ)
    payload.pop("cpf_destinatario")
    response = actor.client.post(f"/v2/nfe?ref={ref}", payload, format="json")
    assert response.status_code == 422
    assert response.json()["codigo"] == "erro_validacao_schema"
    return Note.objects.get(ref=ref)


def test_a_note_refused_at_the_post_is_not_found_on_the_facade(
        actor: Actor, other: Actor, empresa: Empresa, upstream: Upstream) -> None:
    note = _refused(actor, "r-1")
    assert note.focus_refused and note.status == NoteStatus.ERRO_AUTORIZACAO

    consulta = actor.client.get("/v2/nfe/r-1")
    assert consulta.status_code == 404
    assert consulta.json()["codigo"] == "nao_encontrado"
    assert actor.client.get("/v2/nfe/r-1?completa=1").status_code == 404
    # Focus agrees: it holds nothing under the ref.
    assert upstream.counter(note.upstream_ref)["documents_created"] == 0
    # An operation on it is refused the same way (Focus: no such note).
    cancel = actor.client.delete("/v2/nfe/r-1", {"justificativa": "x" * 20}, format="json")
    assert cancel.status_code == 404 and cancel.json()["codigo"] == "nao_encontrado"

    # The native API and the timeline keep the refusal.
    detail = actor.client.get(f"/api/v1/notes/{note.pk}").json()
    assert detail["status"] == NoteStatus.ERRO_AUTORIZACAO
    assert any(e["message"] == "Focus refused the POST" for e in detail["timeline"])
    assert other.client.get(f"/api/v1/notes/{note.pk}").status_code == 404
    assert other.client.get("/v2/nfe/r-1").status_code == 404


def test_the_ref_is_accepted_again_as_a_new_note_after_the_refusal(
        actor: Actor, empresa: Empresa, upstream: Upstream) -> None:
    refused = _refused(actor, "r-2")
    again = actor.client.post("/v2/nfe?ref=r-2", nfe_payload(VALID_CNPJ), format="json")
    assert again.status_code == 202, again.content
    assert again.json()["status"] == NoteStatus.PROCESSANDO
    note = drive(Note.objects.get(pk=refused.pk), upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO and not note.focus_refused
    assert note.tenant_attempt == 2 and note.next_action == NextAction.NONE
    assert note.events.filter(kind=NoteEvent.Kind.RESENT).exists()
    assert upstream.counter(note.upstream_ref)["documents_created"] == 1
    consulta = actor.client.get("/v2/nfe/r-2")
    assert consulta.status_code == 200 and consulta.json()["status"] == NoteStatus.AUTORIZADO
