"""POST /v2/nfe/REF/evento (the generic event, tipo_evento) through the facade, against the
sandbox: Focus's answer with our archive's path, each row of Focus's table (FocusNFe/api-doc
_nfe.md "Eventos"), a timeout after the POST (read, never sent twice), a spent budget."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from fiscal.focus.budget import observe
from fiscal.focus.client import token_fingerprint
from fiscal.models import FiscalEvent, NextAction, Note, NoteEvent, NoteStatus
from storage.archiving import archive_run_due
from storage.models import Artifact
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream
from tests.fiscal.test_operations import authorized as authorized_fixture
from tests.fiscal.test_operations import cancel, drive_event
from tests.sandbox.helpers import nfe_payload
from tests.support.file_links import comparable

authorized = authorized_fixture  # the authorized-note fixture of the operations tests

TIPO = "prorrogacao_suspensao_icms"
ITENS = [{"numero_item": 1, "quantidade_item": 1.0}]


def evento(actor: Actor, ref: str, body: object):  # type: ignore[no-untyped-def]
    return actor.client.post(f"/v2/nfe/{ref}/evento", body, format="json")


def sandbox_eventos(upstream: Upstream, note: Note) -> list[dict]:
    docs = upstream.control.get("/documents").json()["documents"]
    [doc] = [d for d in docs if d["ref"] == note.upstream_ref]
    return doc["eventos"]


def test_evento_is_registered_answered_with_our_path_and_archived(
    actor: Actor, other: Actor, authorized, upstream: Upstream  # type: ignore[no-untyped-def]
) -> None:
    note = authorized("ev-1")
    assert evento(other, "ev-1", {"tipo_evento": TIPO}).status_code == 404  # another tenant's
    response = evento(actor, "ev-1", {"tipo_evento": TIPO, "itens_pedido": ITENS})
    assert response.status_code == 200, response.content
    assert comparable(response.json()) == {
        "status_sefaz": "135", "mensagem_sefaz": "Evento registrado e vinculado a NF-e",
        "status": "autorizado",
        f"caminho_xml_evento_{TIPO}": (note.pk, f"xml_evento_{TIPO}", None),
        f"numero_evento_{TIPO}": 1,
    }
    event = note.fiscal_events.get()
    assert (event.kind, event.status, event.sequence) == ("evento", "autorizado", 1)
    assert event.payload == {"tipo_evento": TIPO, "itens_pedido": ITENS}  # sent as received
    assert event.upstream[f"caminho_xml_evento_{TIPO}"].endswith("-pro-icms-01.xml")  # Focus's
    assert sandbox_eventos(upstream, note) == [{"tipo_evento": TIPO, "numero": 1}]

    # Archived like every event file, and served at the path we answered.
    archive_run_due()
    artifact = Artifact.objects.get(fiscal_event=event)
    assert artifact.state == "archived" and artifact.kind == "evento_xml"
    assert artifact.sequence == 1 and artifact.key.endswith(f"/evento-{TIPO}-01.xml")
    served = actor.client.get(f"/v2/arquivos/{note.pk}/xml_evento_{TIPO}")
    assert served.status_code == 200
    content = b"".join(served.streaming_content) if served.streaming else served.content
    assert b"<tpEvento>111500</tpEvento>" in content

    second = evento(actor, "ev-1", {"tipo_evento": TIPO}).json()
    assert second[f"numero_evento_{TIPO}"] == 2
    assert note.fiscal_events.filter(kind="evento", status="autorizado").count() == 2


def test_evento_without_tipo_evento_is_refused_before_anything(actor: Actor, authorized,  # type: ignore[no-untyped-def]
                                                               upstream: Upstream) -> None:
    note = authorized("ev-2")
    for body in ({}, {"tipo_evento": ""}):
        response = evento(actor, "ev-2", body)
        assert response.status_code == 400
        assert response.json()["codigo"] == "requisicao_invalida"
        assert response.json()["mensagem"] == 'Parâmetro "tipo_evento" não informado'
    for tipo in ("Prorrogacao", "../x", 7, "x" * 61):
        response = evento(actor, "ev-2", {"tipo_evento": tipo})
        assert response.status_code == 400 and response.json()["codigo"] == "requisicao_invalida"
    assert not note.fiscal_events.exists()
    assert sandbox_eventos(upstream, note) == []


def test_evento_on_a_note_not_authorized_or_cancelled(actor: Actor, authorized,  # type: ignore[no-untyped-def]
                                                      empresa: Empresa, upstream: Upstream) -> None:
    assert evento(actor, "nada", {"tipo_evento": TIPO}).status_code == 404
    upstream.control.post("/sefaz", json={"uf": "PR", "down": True})
    actor.client.post("/v2/nfe?ref=ev-3", nfe_payload(VALID_CNPJ), format="json")
    response = evento(actor, "ev-3", {"tipo_evento": TIPO})
    assert response.status_code == 400
    assert response.json()["codigo"] == "nfe_nao_autorizada"
    assert response.json()["mensagem"] == "Nota fiscal não autorizada."
    upstream.control.post("/sefaz", json={"uf": "PR", "down": False})

    note = authorized("ev-4")
    assert cancel(actor, "ev-4").status_code == 200
    response = evento(actor, "ev-4", {"tipo_evento": TIPO})
    assert response.status_code == 422
    assert response.json()["codigo"] == "already_processed"
    assert response.json()["mensagem"] == "A nota fiscal foi cancelada"
    assert not note.fiscal_events.filter(kind="evento").exists()
    assert actor.client.post("/v2/nfce/ev-4/evento", {"tipo_evento": TIPO},
                             format="json").status_code == 404  # an NFe event only


def test_evento_refused_by_sefaz_or_by_focus(actor: Actor, authorized,  # type: ignore[no-untyped-def]
                                             upstream: Upstream) -> None:
    note = authorized("ev-5")
    upstream.control.post("/sefaz", json={"uf": "PR", "down": True})
    response = evento(actor, "ev-5", {"tipo_evento": TIPO})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "erro_autorizacao" and body["evento"] == f"evento_{TIPO}"
    assert body["status_sefaz"] == "108"
    upstream.control.post("/sefaz", json={"uf": "PR", "down": False})
    # A type Focus does not know: its refusal, as it gave it.
    unknown = evento(actor, "ev-5", {"tipo_evento": "nao_existe"})
    assert unknown.status_code == 400 and unknown.json()["codigo"] == "requisicao_invalida"
    assert "tipo_evento" in unknown.json()["mensagem"]
    assert list(note.fiscal_events.values_list("status", flat=True)) == ["erro", "erro"]
    note.refresh_from_db()
    assert note.status == NoteStatus.AUTORIZADO
    assert sandbox_eventos(upstream, note) == []


def test_evento_timing_out_after_the_post_is_read_and_never_sent_twice(
    actor: Actor, authorized, upstream: Upstream  # type: ignore[no-untyped-def]
) -> None:
    note = authorized("ev-6")
    upstream.fault("accept_then_hang", count=1, methods=["POST"],
                   path_prefix=f"/v2/nfe/{note.upstream_ref}/evento", hang_seconds=3)
    response = evento(actor, "ev-6", {"tipo_evento": TIPO})
    assert response.status_code == 202
    assert response.json()["status"] == "processando"
    event = note.fiscal_events.get()
    assert event.in_doubt and event.next_action == NextAction.SYNC  # written before the POST
    assert sandbox_eventos(upstream, note) == [{"tipo_evento": TIPO, "numero": 1}]

    # The tenant's retry while it is in doubt is answered from the same event: no second POST.
    retry = evento(actor, "ev-6", {"tipo_evento": TIPO})
    assert retry.status_code == 202 and retry.json()["id_operacao"] == event.pk
    assert note.fiscal_events.count() == 1

    event = drive_event(event)
    # Read first; the consulta cannot prove the event absent, so it is never resent.
    assert event.status == "indeterminado" and event.attempts == 1
    assert sandbox_eventos(upstream, note) == [{"tipo_evento": TIPO, "numero": 1}]
    assert note.events.filter(kind=NoteEvent.Kind.OPERATION,
                              message__contains="consulta does not show it").exists()


@pytest.mark.parametrize("mode", ["hang", "5xx"])
def test_evento_lost_before_focus_answered_is_not_resent_either(
    actor: Actor, authorized, upstream: Upstream, mode: str  # type: ignore[no-untyped-def]
) -> None:
    """Sent and unanswered, whether or not Focus did it: the read decides, and nothing here can
    tell "not done" from "done", so the event is never repeated on its own."""
    note = authorized("ev-7")
    upstream.fault(mode, count=1, methods=["POST"],
                   path_prefix=f"/v2/nfe/{note.upstream_ref}/evento", hang_seconds=3)
    assert evento(actor, "ev-7", {"tipo_evento": TIPO}).status_code == 202
    event = drive_event(note.fiscal_events.get())
    assert event.status == "indeterminado" and event.attempts == 1
    assert sandbox_eventos(upstream, note) == []


def test_evento_not_sent_for_a_spent_budget_answers_focus_s_429(  # type: ignore[no-untyped-def]
        actor: Actor, authorized, empresa: Empresa, upstream: Upstream) -> None:
    note = authorized("ev-8")
    observe(fingerprint=token_fingerprint(empresa.token_homologacao), remaining=0, reset=30)
    response = evento(actor, "ev-8", {"tipo_evento": TIPO})
    assert response.status_code == 429 and response.json()["codigo"] == "limite_requisicoes"
    assert response["Rate-Limit-Remaining"] == "0" and int(response["Retry-After"]) >= 1
    event = note.fiscal_events.get()
    # Nothing was sent and nothing is left to be sent behind the tenant's back.
    assert event.next_action == NextAction.NONE and not event.in_doubt
    assert event.upstream["gateway"]["sent"] is False
    assert sandbox_eventos(upstream, note) == []
    cache.clear()  # the window passes
    assert evento(actor, "ev-8", {"tipo_evento": TIPO}).status_code == 200
    assert sandbox_eventos(upstream, note) == [{"tipo_evento": TIPO, "numero": 1}]
    assert FiscalEvent.objects.filter(kind="evento", status="autorizado").count() == 1


def test_a_consulta_settles_an_evento_only_with_a_number_it_did_not_know(
    authorized,  # type: ignore[no-untyped-def]
) -> None:
    """Focus's document lists no consulta field for these events; should Focus show the type's
    number, a number beyond the events we already hold is this one's (and nothing else is)."""
    from fiscal.evento import evento_landed

    note = authorized("ev-9")

    def make(**fields: object) -> FiscalEvent:
        return FiscalEvent.objects.create(tenant=note.tenant, note=note, kind="evento",
                                          payload={"tipo_evento": TIPO}, **fields)

    event = make(in_doubt=True)
    assert evento_landed(event, {}) is None
    assert evento_landed(event, {f"numero_evento_{TIPO}": "x"}) is None
    assert evento_landed(event, {"numero_evento_outro_tipo": 1}) is None
    landed = evento_landed(event, {f"numero_evento_{TIPO}": 1,
                                   f"caminho_xml_evento_{TIPO}": "/arquivos/x-pro-icms-01.xml"})
    assert landed is not None and landed["status"] == "autorizado"
    assert landed[f"caminho_xml_evento_{TIPO}"] == "/arquivos/x-pro-icms-01.xml"
    make(status="autorizado", sequence=1)  # number 1 is an earlier event of ours
    assert evento_landed(event, {f"numero_evento_{TIPO}": 1}) is None
    assert evento_landed(event, {f"numero_evento_{TIPO}": 2}) is not None
