"""Operations on notes through the facade, against the sandbox: cancel, CCe, ator interessado,
insucesso de entrega, e-mail; their documented errors, deadlines, and ambiguous outcomes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fiscal import operations
from fiscal.models import FiscalEvent, NextAction, Note, NoteEvent, NoteStatus
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream, drive
from tests.sandbox.helpers import nfce_payload, nfe_payload, nfse_payload
from tests.support.file_links import link_target

JUSTIFICATIVA = "Cancelamento por erro de digitação no pedido"


@pytest.fixture
def authorized(actor: Actor, empresa: Empresa, upstream: Upstream):  # type: ignore[no-untyped-def]
    def make(ref: str, doc_type: str = "nfe") -> Note:
        payload = {"nfe": nfe_payload, "nfse": nfse_payload, "nfce": nfce_payload}[doc_type](
            VALID_CNPJ)
        response = actor.client.post(f"/v2/{doc_type}?ref={ref}", payload, format="json")
        assert response.status_code in (201, 202), response.content
        note = drive(Note.objects.get(ref=ref, doc_type=doc_type), upstream=upstream)
        assert note.status == NoteStatus.AUTORIZADO
        return note

    return make


def drive_event(event: FiscalEvent, *, max_steps: int = 20) -> FiscalEvent:
    for _ in range(max_steps):
        event.refresh_from_db()
        if event.next_action == NextAction.NONE:
            return event
        FiscalEvent.objects.filter(pk=event.pk).update(next_action_at=timezone.now(),
                                                       claim_token="")
        for event_id, token in operations.dispatch_due_events():
            operations.event_run_step(event_id=event_id, token=token)
    raise AssertionError(f"operation {event.pk} still pending")


def cancel(actor: Actor, ref: str, doc_type: str = "nfe", justificativa=JUSTIFICATIVA):  # type: ignore[no-untyped-def]
    body = {} if justificativa is None else {"justificativa": justificativa}
    return actor.client.delete(f"/v2/{doc_type}/{ref}", body, format="json")


def test_cancel_an_authorized_nfe(actor: Actor, other: Actor, authorized) -> None:  # type: ignore[no-untyped-def]
    note = authorized("c-1")
    assert cancel(other, "c-1").status_code == 404  # another tenant's ref
    response = cancel(actor, "c-1")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelado" and body["status_sefaz"] == "135"
    assert link_target(body["caminho_xml_cancelamento"]) == (note.pk, "xml_cancelamento", None)
    note.refresh_from_db()
    assert note.status == NoteStatus.CANCELADO
    event = note.fiscal_events.get()
    assert event.kind == "cancelamento" and event.status == "autorizado"
    assert event.payload == {"justificativa": JUSTIFICATIVA}
    consulta = actor.client.get("/v2/nfe/c-1").json()
    assert consulta["status"] == "cancelado"
    assert consulta["caminho_xml_cancelamento"].startswith("/v2/arquivos/")
    assert note.events.filter(kind=NoteEvent.Kind.OPERATION).count() == 2
    again = cancel(actor, "c-1")
    assert again.status_code == 400 and again.json()["codigo"] == "nfe_cancelada"


@pytest.mark.parametrize("justificativa,fragment", [
    (None, "não informado"), ("curta demais", "entre 15 e 255"), ("x" * 256, "entre 15 e 255"),
])
def test_cancel_needs_a_proper_justificativa(actor: Actor, authorized, justificativa,  # type: ignore[no-untyped-def]
                                             fragment: str) -> None:
    note = authorized("c-2")
    response = cancel(actor, "c-2", justificativa=justificativa)
    assert response.status_code == 400
    assert response.json()["codigo"] == "requisicao_invalida"
    assert fragment in response.json()["mensagem"]
    assert not note.fiscal_events.exists()


def test_cancel_unknown_or_unauthorized_notes(actor: Actor, empresa: Empresa,
                                              upstream: Upstream) -> None:
    assert cancel(actor, "nada").json()["codigo"] == "nao_encontrado"
    upstream.control.post("/sefaz", json={"uf": "PR", "down": True})
    actor.client.post("/v2/nfe?ref=c-3", nfe_payload(VALID_CNPJ), format="json")
    response = cancel(actor, "c-3")
    assert response.status_code == 422
    assert response.json()["codigo"] == "nfe_nao_autorizada"


def test_cancel_after_the_window_is_refused_without_calling_focus(
    actor: Actor, authorized, upstream: Upstream  # type: ignore[no-untyped-def]
) -> None:
    note = authorized("c-4")
    Note.objects.filter(pk=note.pk).update(authorized_at=timezone.now() - timedelta(hours=25))
    response = cancel(actor, "c-4")
    assert response.status_code == 200
    assert response.json() == {
        "status": "erro_cancelamento", "status_sefaz": "501",
        "mensagem_sefaz": operations.REJECT_CANCEL_WINDOW[1],
    }
    note.refresh_from_db()
    assert note.status == NoteStatus.AUTORIZADO
    assert note.fiscal_events.get().status == "erro"
    docs = upstream.control.get("/documents").json()
    assert all(d.get("status") != "cancelado" for d in docs.get("documents", docs))


def test_nfce_is_synchronous_and_cancels_within_thirty_minutes(actor: Actor, authorized) -> None:  # type: ignore[no-untyped-def]
    response = actor.client.post("/v2/nfce?ref=cupom-1", nfce_payload(VALID_CNPJ), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "autorizado"
    assert body["qrcode_url"] and body["url_consulta_nf"]
    note = Note.objects.get(ref="cupom-1")
    assert link_target(body["caminho_danfe"]) == (note.pk, "danfe", None)
    assert note.next_action == NextAction.NONE
    Note.objects.filter(pk=note.pk).update(authorized_at=timezone.now() - timedelta(minutes=31))
    late = cancel(actor, "cupom-1", "nfce")
    assert late.json()["status"] == "erro_cancelamento"
    Note.objects.filter(pk=note.pk).update(authorized_at=timezone.now())
    assert cancel(actor, "cupom-1", "nfce").json()["status"] == "cancelado"


def test_nfce_with_focus_down_is_answered_as_processing_then_settles(
    actor: Actor, empresa: Empresa, upstream: Upstream, settings
) -> None:
    upstream.fault("hang", count=1, methods=["POST"], path_prefix="/v2/nfce", hang_seconds=3)
    settings.FG_NFCE_INLINE_TIMEOUT = 1.0
    response = actor.client.post("/v2/nfce?ref=cupom-2", nfce_payload(VALID_CNPJ), format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "processando_autorizacao"
    note = drive(Note.objects.get(ref="cupom-2"), upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    assert actor.client.get("/v2/nfce/cupom-2").json()["status"] == "autorizado"
    assert upstream.counter(note.upstream_ref)["documents_created"] == 1


def test_nfse_cancellation_refused_by_the_prefeitura(actor: Actor, authorized) -> None:  # type: ignore[no-untyped-def]
    note = authorized("s-c", "nfse")
    response = cancel(actor, "s-c", "nfse", justificativa="SANDBOX:REJEITAR:E79 nota em uso")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "erro_cancelamento"
    assert body["erros"][0]["codigo"] == "E79"
    note.refresh_from_db()
    assert note.status == NoteStatus.AUTORIZADO
    assert note.fiscal_events.get().status == "erro"


def test_carta_de_correcao_up_to_twenty(actor: Actor, authorized, upstream: Upstream) -> None:  # type: ignore[no-untyped-def]
    note = authorized("cce-1")
    url = "/v2/nfe/cce-1/carta_correcao"
    short = actor.client.post(url, {"correcao": "curta"}, format="json")
    assert short.status_code == 400
    for n in range(1, 21):
        body = actor.client.post(url, {"correcao": f"Correção número {n} do endereço"},
                                 format="json").json()
        assert body["status"] == "autorizado", body
        assert body["numero_carta_correcao"] == n
    assert link_target(body["caminho_pdf_carta_correcao"]) == (
        note.pk, "pdf_carta_correcao", None)
    refused = actor.client.post(url, {"correcao": "A vigésima primeira correção"},
                                format="json")
    assert refused.status_code == 200
    assert refused.json()["status_sefaz"] == "594"
    events = note.fiscal_events.filter(kind="carta_correcao")
    assert events.filter(status="autorizado").count() == 20
    assert events.filter(status="erro").count() == 1
    consulta = actor.client.get("/v2/nfe/cce-1").json()
    assert consulta["numero_carta_correcao"] == 20


def test_ator_interessado_insucesso_and_email(actor: Actor, authorized) -> None:  # type: ignore[no-untyped-def]
    authorized("ev-1")
    ator = actor.client.post("/v2/nfe/ev-1/ator_interessado",
                             {"cpf": "52998224725", "permite_autorizacao_terceiros": True},
                             format="json")
    assert ator.json()["status"] == "autorizado"
    missing = actor.client.post("/v2/nfe/ev-1/ator_interessado", {}, format="json")
    assert missing.status_code == 400
    insucesso = actor.client.post(
        "/v2/nfe/ev-1/insucesso_entrega",
        {"data_tentativa_entrega": "2026-01-16T10:00:00-03:00", "motivo_insucesso": 1},
        format="json")
    assert insucesso.json()["status"] == "autorizado"
    desfeito = actor.client.delete("/v2/nfe/ev-1/insucesso_entrega")
    assert desfeito.json()["status"] == "autorizado", desfeito.content
    email = actor.client.post("/v2/nfe/ev-1/email", {"emails": ["fiscal@example.com"]},
                              format="json")
    assert email.status_code == 200
    bad_email = actor.client.post("/v2/nfe/ev-1/email", {"emails": "x"}, format="json")
    assert bad_email.status_code == 400
    kinds = set(FiscalEvent.objects.values_list("kind", flat=True))
    assert {"ator_interessado", "insucesso_entrega", "cancelamento_insucesso", "email"} <= kinds


def test_cancel_that_times_out_after_focus_cancelled_ends_cancelled_once(
    actor: Actor, authorized, upstream: Upstream  # type: ignore[no-untyped-def]
) -> None:
    note = authorized("c-5")
    upstream.fault("accept_then_hang", count=1, methods=["DELETE"], path_prefix="/v2/nfe",
                   hang_seconds=3)
    response = cancel(actor, "c-5")
    assert response.status_code == 202
    assert response.json()["status"] == "processando"
    event = note.fiscal_events.get()
    assert event.in_doubt and event.next_action == NextAction.SYNC
    event = drive_event(event)
    assert event.status == "autorizado" and event.attempts == 1  # read, never sent again
    note.refresh_from_db()
    assert note.status == NoteStatus.CANCELADO
    assert actor.client.get("/v2/nfe/c-5").json()["status"] == "cancelado"


def test_cce_whose_post_was_lost_is_sent_again_after_a_read(actor: Actor, authorized,  # type: ignore[no-untyped-def]
                                                            upstream: Upstream) -> None:
    authorized("cce-2")
    upstream.fault("hang", count=1, methods=["POST"], path_prefix="/v2/nfe/", hang_seconds=3)
    response = actor.client.post("/v2/nfe/cce-2/carta_correcao",
                                 {"correcao": "Correção do endereço de entrega"}, format="json")
    assert response.status_code == 202
    event = drive_event(FiscalEvent.objects.get(kind="carta_correcao"))
    assert event.status == "autorizado", event.mensagem_sefaz
    assert event.attempts == 2 and event.sequence == 1, (event.attempts, event.mensagem_sefaz)
    assert actor.client.get("/v2/nfe/cce-2").json()["numero_carta_correcao"] == 1


def test_unreadable_operation_in_doubt_is_not_repeated(actor: Actor, authorized,  # type: ignore[no-untyped-def]
                                                       upstream: Upstream) -> None:
    authorized("ev-2")
    upstream.fault("accept_then_hang", count=1, methods=["POST"], path_prefix="/v2/nfe/",
                   hang_seconds=3)
    response = actor.client.post("/v2/nfe/ev-2/ator_interessado", {"cpf": "52998224725"},
                                 format="json")
    assert response.status_code == 202
    event = drive_event(FiscalEvent.objects.get(kind="ator_interessado"))
    assert event.status == "indeterminado" and event.attempts == 1


def test_fiscal_events_through_the_native_api(actor: Actor, other: Actor, authorized,  # type: ignore[no-untyped-def]
                                              empresa: Empresa) -> None:
    note = authorized("api-1")
    cancel(actor, "api-1")
    body = actor.client.get(f"/api/v1/fiscal-events?note={note.pk}").json()
    assert [e["kind"] for e in body["results"]] == ["cancelamento"]
    assert body["results"][0]["status"] == "autorizado"
    assert actor.client.get("/api/v1/fiscal-events?kind=carta_correcao").json()["results"] == []
    assert actor.client.get(
        f"/api/v1/fiscal-events?empresa={empresa.pk}").json()["results"][0]["note_ref"] == "api-1"
    assert other.client.get("/api/v1/fiscal-events").json()["results"] == []
    assert actor.client.get("/api/v1/fiscal-events?status=x").status_code == 400
    timeline = actor.client.get(f"/api/v1/notes/{note.pk}").json()["timeline"]
    assert any(e["kind"] == "operation" and "cancelamento" in e["message"] for e in timeline)
