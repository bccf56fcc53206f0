"""Importação of an NFe issued elsewhere through the facade, against the sandbox over HTTP: a
note like any other, whose POST is the XML."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fiscal.models import NextAction, Note, NoteEvent, NoteStatus
from tenants.models import Empresa
from tests.conftest import OTHER_CNPJ, VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream, drive
from tests.support.file_links import link_target


def importar(actor: Actor, xml: bytes, ref: str | None = "imp-1"):
    url = "/v2/nfe/importacao" + (f"?ref={ref}" if ref else "")
    return actor.client.post(url, xml, content_type="application/xml")


def test_importacao_creates_an_authorized_note_with_focus_answer(
    actor: Actor, other: Actor, empresa: Empresa, upstream: Upstream, nfe_xml: bytes
) -> None:
    response = importar(actor, nfe_xml)
    assert response.status_code == 201, response.content
    answer = response.json()
    note = Note.objects.get(ref="imp-1")
    assert answer["ref"] == "imp-1" and answer["status"] == "autorizado"
    assert answer["status_sefaz"] == "100"
    assert link_target(answer["caminho_xml_nota_fiscal"]) == (note.pk, "xml_nota_fiscal", None)
    assert note.doc_type == "nfe" and note.empresa == empresa
    assert note.status == NoteStatus.AUTORIZADO and note.next_action == NextAction.NONE
    assert not note.in_doubt and not note.claim_token
    assert answer["chave_nfe"] == "NFe" + note.chave
    assert note.upstream_ref.startswith("fg") and note.upstream_ref != "imp-1"
    assert note.payload["xml"].encode() == nfe_xml
    kinds = list(note.events.values_list("kind", flat=True))
    assert kinds[:2] == [NoteEvent.Kind.CREATED, NoteEvent.Kind.SUBMITTED]
    assert NoteEvent.Kind.STATUS_CHANGED in kinds

    assert actor.client.get("/v2/nfe/imp-1").json()["status"] == "autorizado"
    assert other.client.get("/v2/nfe/imp-1").status_code == 404
    # the ref is taken now
    again = importar(actor, nfe_xml)
    assert again.status_code == 422
    assert again.json()["codigo"] == "nfe_autorizada"


def test_importacao_without_ref_uses_the_chave(actor: Actor, empresa: Empresa,
                                               upstream: Upstream, nfe_xml: bytes) -> None:
    response = importar(actor, nfe_xml, ref=None)
    assert response.status_code == 201, response.content
    note = Note.objects.get()
    assert note.ref == f"NFe{note.chave}" == response.json()["ref"]


@pytest.mark.parametrize(
    "xml",
    [
        b"not xml",
        b"<nfeProc><oops",
        b"<nfeProc/>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><nfeProc>&a;</nfeProc>',
    ],
)
def test_importacao_of_an_unreadable_xml_is_erro_validacao_xml(
    actor: Actor, empresa: Empresa, upstream: Upstream, xml: bytes
) -> None:
    response = importar(actor, xml)
    assert response.status_code == 422
    assert response.json()["codigo"] == "erro_validacao_xml"
    assert not Note.objects.exists()


def test_importacao_of_another_companys_xml_is_permissao_negada(
    actor: Actor, other: Actor, empresa: Empresa, make_empresa, upstream: Upstream,
    nfe_xml: bytes,
) -> None:
    make_empresa(other.tenant, cnpj=OTHER_CNPJ)
    foreign = nfe_xml.replace(f"<CNPJ>{VALID_CNPJ}</CNPJ>".encode(),
                              f"<CNPJ>{OTHER_CNPJ}</CNPJ>".encode(), 1)
    assert foreign != nfe_xml
    response = importar(actor, foreign)
    assert response.status_code == 403
    assert response.json()["codigo"] == "permissao_negada"
    # and the other tenant cannot import the actor's note
    assert importar(other, nfe_xml).status_code == 403
    assert not Note.objects.exists()


def test_importacao_timeout_answers_202_and_the_sync_step_reads_it(
    actor: Actor, empresa: Empresa, upstream: Upstream, settings, nfe_xml: bytes
) -> None:
    settings.FG_OPERATION_INLINE_TIMEOUT = 0.5
    upstream.fault("accept_then_hang", count=1, methods=["POST"],
                   path_prefix="/v2/nfe/importacao", hang_seconds=3)
    response = importar(actor, nfe_xml)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "processando_autorizacao"
    note = Note.objects.get()
    assert note.in_doubt and note.next_action == NextAction.SYNC and not note.claim_token
    assert note.events.filter(kind=NoteEvent.Kind.UPSTREAM_ERROR).exists()
    note = drive(note, upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    assert note.chave and not note.in_doubt


def test_importacao_refused_by_focus_is_passed_on_and_the_ref_can_be_reused(
    actor: Actor, make_empresa, upstream: Upstream, nfe_xml: bytes
) -> None:
    # Our company, but its Focus token is not enabled for NFe at Focus: Focus refuses.
    upstream.control.post("/config", json={"companies": {VALID_CNPJ: {"habilita_nfe": False}}})
    make_empresa(actor.tenant, uf="PR")
    response = importar(actor, nfe_xml)
    assert response.status_code == 400, response.content
    assert response.json()["codigo"] == "empresa_nao_habilitada"
    note = Note.objects.get()
    assert note.status == NoteStatus.ERRO_AUTORIZACAO and note.next_action == NextAction.NONE
    upstream.control.post("/config", json={"companies": {VALID_CNPJ: {"habilita_nfe": True}}})
    again = importar(actor, nfe_xml)
    assert again.status_code == 201, again.content
    note.refresh_from_db()
    assert note.status == NoteStatus.AUTORIZADO and note.tenant_attempt == 2
    assert Note.objects.count() == 1


def test_importacao_lost_before_focus_is_imported_again_not_emitted(
    actor: Actor, empresa: Empresa, upstream: Upstream, settings, nfe_xml: bytes
) -> None:
    settings.FG_OPERATION_INLINE_TIMEOUT = 0.5
    upstream.fault("hang", count=1, methods=["POST"], path_prefix="/v2/nfe/importacao",
                   hang_seconds=2)
    assert importar(actor, nfe_xml).status_code == 202
    note = drive(Note.objects.get(), upstream=upstream)
    # the read said 404; the retry went to /v2/nfe/importacao with the XML again
    assert note.status == NoteStatus.AUTORIZADO, note.events.values_list("message", flat=True)
    assert note.submit_attempts == 2  # a JSON emission of it would have been refused


def test_importacao_again_after_erro_autorizacao_starts_its_reads_afresh(
    actor: Actor, empresa: Empresa, upstream: Upstream, settings, nfe_xml: bytes
) -> None:
    # The first import is lost on the way (timeout, no document at Focus); the read that
    # follows finds nothing, the import is sent again and Focus refuses it.
    settings.FG_OPERATION_INLINE_TIMEOUT = 0.5
    upstream.control.post("/config", json={"companies": {VALID_CNPJ: {"habilita_nfe": False}}})
    upstream.fault("hang", count=1, methods=["POST"], path_prefix="/v2/nfe/importacao",
                   hang_seconds=2)
    assert importar(actor, nfe_xml).status_code == 202
    note = drive(Note.objects.get(), upstream=upstream)
    assert note.status == NoteStatus.ERRO_AUTORIZACAO and note.sync_attempts == 1

    upstream.control.post("/config", json={"companies": {VALID_CNPJ: {"habilita_nfe": True}}})
    again = importar(actor, nfe_xml)
    assert again.status_code == 201, again.content
    note.refresh_from_db()
    # A new try of the ref: its counters start again, as for any note sent again.
    assert note.status == NoteStatus.AUTORIZADO and note.tenant_attempt == 2
    assert note.sync_attempts == 0 and note.submit_attempts == 1


def test_importacao_still_processing_waits_for_the_hook_before_its_first_read(
    actor: Actor, empresa: Empresa, upstream: Upstream, settings, monkeypatch, nfe_xml: bytes
) -> None:
    from django.utils import timezone

    from fiscal.focus.client import FocusAnswer, FocusClient
    from fiscal.models import FocusHook

    settings.FG_SYNC_FIRST_DELAY = 5
    settings.FG_SYNC_FIRST_DELAY_HOOKED = 3600
    FocusHook.objects.create(
        empresa=empresa, environment="homologacao", event="nfe", focus_id="h-1", secret="s",
        token_fingerprint=empresa.focus_token_fingerprint("homologacao"),
    )
    # The sandbox authorizes every import at once; Focus may answer one still processing.
    # Only that answer is stood in for, at the client's edge.
    monkeypatch.setattr(FocusClient, "import_xml", lambda self, ref, xml, before_send=None: (
        before_send and before_send(),
        FocusAnswer(201, {"ref": ref, "status": "processando_autorizacao"}, 1.0),
    )[1])
    before = timezone.now()
    response = importar(actor, nfe_xml)
    assert response.status_code == 201 and response.json()["status"] == "processando_autorizacao"
    note = Note.objects.get()
    assert note.next_action == NextAction.SYNC and not note.in_doubt
    # Our hook is registered for the company: the first read waits for it, as for every note.
    assert note.next_action_at >= before + timedelta(seconds=1800)
