"""Contingency and timeout corrections are recorded and shown, never hidden."""

from __future__ import annotations

from fiscal.models import NextAction, Note, NoteEvent, NoteStatus
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream, drive
from tests.sandbox.helpers import nfce_payload, nfe_payload
from tests.support.file_links import link_target


def test_nfe_contingency_resend_keeps_the_earlier_attempt_and_the_gap(
    actor: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    upstream.control.post("/contingency", json={"uf": "PR", "nfe_resend": True})
    actor.client.post("/v2/nfe?ref=ct-1", nfe_payload(VALID_CNPJ), format="json")
    note = drive(Note.objects.get(ref="ct-1"), upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    previous = note.tentativa_anterior
    assert previous and previous["status"] == "cancelado"
    assert int(previous["numero"]) != int(note.numero)  # a numbering gap
    consulta = actor.client.get("/v2/nfe/ct-1").json()
    assert link_target(consulta["tentativa_anterior"]["caminho_xml_nota_fiscal"]) == (
        note.pk, "xml_nota_fiscal", 0)
    assert note.events.filter(kind=NoteEvent.Kind.STATUS_CHANGED,
                              message__startswith="Focus cancelled an earlier").exists()
    counter = upstream.counter(note.upstream_ref)
    # Focus's own second document is legitimate (contingency); none came from us.
    assert counter["duplicates"] == 0 and counter["posts"] == 1


def test_nfce_offline_contingency_is_synced_until_made_effective(
    actor: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    upstream.control.post("/contingency", json={"uf": "PR", "nfce_offline": True})
    response = actor.client.post("/v2/nfce?ref=off-1", nfce_payload(VALID_CNPJ), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["contingencia_offline"] is True
    note = Note.objects.get(ref="off-1")
    assert note.status == NoteStatus.AUTORIZADO
    assert note.contingencia_offline and not note.contingencia_offline_efetivada
    assert note.next_action == NextAction.SYNC  # still owed a check
    upstream.control.post("/nfce/" + note.upstream_ref + "/efetivar", json={})
    note = drive(note, upstream=upstream)
    assert note.contingencia_offline_efetivada is True
    assert note.next_action == NextAction.NONE
    messages = list(note.events.values_list("message", flat=True))
    assert "issued in offline contingency (not yet sent to SEFAZ)" in messages
    assert "offline contingency made effective at SEFAZ" in messages


def test_nfce_timeout_correction_is_recorded(actor: Actor, empresa: Empresa,
                                             upstream: Upstream) -> None:
    upstream.control.post("/contingency", json={"uf": "PR", "nfce_timeout_correction": True})
    response = actor.client.post("/v2/nfce?ref=tc-1", nfce_payload(VALID_CNPJ), format="json")
    assert response.status_code == 201
    note = drive(Note.objects.get(ref="tc-1"), upstream=upstream)
    assert note.tentativas_anteriores
    consulta = actor.client.get("/v2/nfce/tc-1").json()
    first = consulta["tentativas_anteriores"][0]
    assert link_target(first["caminho_xml_nota_fiscal"])[::2] == (note.pk, 1)


def test_manual_offline_nfce_is_sent_with_the_tenants_numbering(
    actor: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    payload = nfce_payload(VALID_CNPJ, numero=15, serie=600, codigo_unico="12345678")
    response = actor.client.post("/v2/nfce?ref=man-1&forma_emissao=offline", payload,
                                 format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["numero"], body["serie"]) == ("15", "600")
    assert body["contingencia_offline"] is True
    note = Note.objects.get(ref="man-1")
    assert note.upstream_params == {"forma_emissao": "offline"}
    bad = actor.client.post("/v2/nfce?ref=man-2&forma_emissao=papel", payload, format="json")
    assert bad.status_code == 400
    assert bad.json()["codigo"] == "forma_emissao_nao_informada"
