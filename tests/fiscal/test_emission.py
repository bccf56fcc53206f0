"""Emission through the facade: persisted first, Focus's answer shown, driven to a result."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fiscal.models import NextAction, Note, NoteEvent, NoteStatus
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream, drive
from tests.sandbox.helpers import HOMOLOGACAO_NOME, nfe_payload, nfse_payload, nfsen_payload
from tests.support.file_links import link_target


def emit(actor: Actor, ref: str, payload: dict, doc_type: str = "nfe"):
    return actor.client.post(f"/v2/{doc_type}?ref={ref}", payload, format="json")


def test_nfe_is_accepted_with_focus_answer_and_settles(actor: Actor, other: Actor,
                                                       empresa: Empresa,
                                                       upstream: Upstream) -> None:
    response = emit(actor, "pedido-1", nfe_payload(VALID_CNPJ))
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["ref"] == "pedido-1"
    assert body["status"] == "processando_autorizacao"
    note = Note.objects.get(ref="pedido-1")
    assert note.upstream_ref != "pedido-1"
    assert note.next_action == NextAction.SYNC and not note.in_doubt

    note = drive(note, upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    assert len(note.chave) == 44 and note.numero and note.protocolo
    assert upstream.counter(note.upstream_ref)["documents_created"] == 1
    assert upstream.counter(note.upstream_ref)["posts"] == 1

    consulta = actor.client.get("/v2/nfe/pedido-1").json()
    assert consulta["status"] == "autorizado"
    assert consulta["ref"] == "pedido-1"
    assert consulta["chave_nfe"] == "NFe" + note.chave  # as Focus writes it
    assert link_target(consulta["caminho_xml_nota_fiscal"]) == (note.pk, "xml_nota_fiscal", None)
    assert "requisicao_nota_fiscal" not in consulta
    completa = actor.client.get("/v2/nfe/pedido-1?completa=1").json()
    assert "protocolo_nota_fiscal" in completa
    # the other tenant cannot see it, not even under the same ref
    hidden = other.client.get("/v2/nfe/pedido-1")
    assert hidden.status_code == 404
    assert hidden.json()["codigo"] == "nao_encontrado"

    kinds = list(note.events.values_list("kind", flat=True))
    assert kinds[:2] == [NoteEvent.Kind.CREATED, NoteEvent.Kind.SUBMITTED]
    assert NoteEvent.Kind.STATUS_CHANGED in kinds


def test_nfse_and_nfse_nacional_settle(actor: Actor, empresa: Empresa,
                                       upstream: Upstream) -> None:
    assert emit(actor, "s-1", nfse_payload(VALID_CNPJ), "nfse").status_code == 202
    assert emit(actor, "n-1", nfsen_payload(VALID_CNPJ), "nfsen").status_code == 202
    nfse = drive(Note.objects.get(ref="s-1"), upstream=upstream)
    nfsen = drive(Note.objects.get(ref="n-1"), upstream=upstream)
    assert nfse.status == nfsen.status == NoteStatus.AUTORIZADO
    assert nfse.codigo_verificacao
    body = actor.client.get("/v2/nfsen/n-1").json()
    assert body["status"] == "autorizado"
    assert "url_danfse" in body


def test_sefaz_rejection_settles_as_erro_autorizacao_and_the_ref_can_be_sent_again(
    actor: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    # Rule of the documentation: in homologação the recipient's name must be the fixed text.
    bad = nfe_payload(VALID_CNPJ, nome_destinatario="Fulano")
    assert emit(actor, "r-1", bad).status_code == 202
    note = drive(Note.objects.get(ref="r-1"), upstream=upstream)
    assert note.status == NoteStatus.ERRO_AUTORIZACAO
    assert note.status_sefaz == "598"
    assert actor.client.get("/v2/nfe/r-1").json()["status_sefaz"] == "598"

    again = emit(actor, "r-1", nfe_payload(VALID_CNPJ, nome_destinatario=HOMOLOGACAO_NOME))
    assert again.status_code == 202
    assert Note.objects.filter(ref="r-1").count() == 1
    note = drive(Note.objects.get(ref="r-1"), upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    assert note.tenant_attempt == 2
    resent = note.events.get(kind=NoteEvent.Kind.RESENT)
    assert resent.data["previous_attempt"]["status_sefaz"] == "598"
    counter = upstream.counter(note.upstream_ref)
    assert counter["posts"] == 2 and counter["documents_created"] == 1


def test_ref_rules(actor: Actor, empresa: Empresa, upstream: Upstream) -> None:
    assert emit(actor, "x-1", nfe_payload(VALID_CNPJ)).status_code == 202
    busy = emit(actor, "x-1", nfe_payload(VALID_CNPJ))
    assert busy.status_code == 422
    assert busy.json()["codigo"] == "em_processamento"
    drive(Note.objects.get(ref="x-1"), upstream=upstream)
    done = emit(actor, "x-1", nfe_payload(VALID_CNPJ))
    assert done.status_code == 422
    assert done.json()["codigo"] == "nfe_autorizada"
    # the same ref for another document type is another note
    assert emit(actor, "x-1", nfse_payload(VALID_CNPJ), "nfse").status_code == 202
    assert Note.objects.filter(ref="x-1").count() == 2


def test_first_validation_refuses_without_writing(actor: Actor, empresa: Empresa,
                                                  upstream: Upstream) -> None:
    cases = [
        ("nfe", nfe_payload(VALID_CNPJ, items=[]), "items"),
        ("nfe", {k: v for k, v in nfe_payload(VALID_CNPJ).items() if k != "cnpj_emitente"},
         "cnpj_emitente"),
        ("nfe", nfe_payload("11222333000182"), "cnpj_emitente"),
        ("nfe", nfe_payload(VALID_CNPJ, natureza_operacao=""), "natureza_operacao"),
        ("nfse", {"prestador": {"cnpj": VALID_CNPJ}}, "servico"),
        ("nfsen", {"cnpj_prestador": VALID_CNPJ}, "valor_servico"),
    ]
    for doc_type, payload, field in cases:
        response = emit(actor, "v-1", payload, doc_type)
        assert response.status_code == 400, (doc_type, field, response.content)
        body = response.json()
        assert body["codigo"] == "requisicao_invalida"
        assert field in body["mensagem"]
    missing_ref = actor.client.post("/v2/nfe", nfe_payload(VALID_CNPJ), format="json")
    assert missing_ref.status_code == 400
    assert "ref" in missing_ref.json()["mensagem"]
    broken = actor.client.post("/v2/nfe?ref=z", data="{", content_type="application/json")
    assert broken.status_code == 415
    assert Note.objects.count() == 0
    assert upstream.counters() == []


def test_company_must_be_the_tenants_and_enabled(actor: Actor, other: Actor,
                                                 empresa: Empresa, make_empresa,
                                                 upstream: Upstream) -> None:
    # The other tenant has no company with this CNPJ: Focus's answer for a foreign emitter.
    foreign = emit(other, "f-1", nfe_payload(VALID_CNPJ))
    assert foreign.status_code == 403
    assert foreign.json()["codigo"] == "permissao_negada"
    empresa.habilita_nfe = False
    empresa.save()
    disabled = emit(actor, "f-2", nfe_payload(VALID_CNPJ))
    assert disabled.status_code == 400
    assert disabled.json()["codigo"] == "empresa_nao_habilitada"
    assert Note.objects.count() == 0


def test_focus_validation_error_inline_is_shown_as_focus_said(actor: Actor, empresa: Empresa,
                                                              upstream: Upstream) -> None:
    # The recipient without CPF/CNPJ passes our structural check; Focus's schema check refuses.
    payload = nfe_payload(VALID_CNPJ)
    payload.pop("cpf_destinatario")
    response = emit(actor, "s-9", payload)
    assert response.status_code == 422
    assert response.json()["codigo"] == "erro_validacao_schema"
    note = Note.objects.get(ref="s-9")
    assert note.status == NoteStatus.ERRO_AUTORIZACAO
    assert note.next_action == NextAction.NONE
    assert upstream.counter(note.upstream_ref)["documents_created"] == 0


def test_queueing_mode_answers_202_and_the_worker_submits(actor: Actor, empresa: Empresa,
                                                          upstream: Upstream,
                                                          settings) -> None:
    settings.FG_INLINE_SUBMIT = False
    response = emit(actor, "q-1", nfe_payload(VALID_CNPJ))
    assert response.status_code == 202
    note = Note.objects.get(ref="q-1")
    assert note.next_action == NextAction.SUBMIT and note.submit_attempts == 0
    assert upstream.counters() == []
    note = drive(note, upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    assert upstream.counter(note.upstream_ref)["documents_created"] == 1


def test_denied_note_is_final_and_its_ref_cannot_be_reused(actor: Actor, empresa: Empresa,
                                                           upstream: Upstream) -> None:
    payload = nfe_payload(VALID_CNPJ, informacoes_adicionais_contribuinte="SANDBOX:DENEGAR")
    assert emit(actor, "den-1", payload).status_code == 202
    note = drive(Note.objects.get(ref="den-1"), upstream=upstream)
    assert note.status == NoteStatus.DENEGADO
    assert note.chave and note.next_action == NextAction.NONE
    assert "caminho_xml_nota_fiscal" in actor.client.get("/v2/nfe/den-1").json()
    again = emit(actor, "den-1", nfe_payload(VALID_CNPJ))
    assert again.status_code == 422


def test_replaced_nfse_records_the_substitute(actor: Actor, empresa: Empresa,
                                              upstream: Upstream, settings) -> None:
    from django.db import transaction

    from fiscal.changes import ChangeType
    from fiscal.services import apply_upstream

    published = []
    settings.FG_CHANGE_SUBSCRIBERS = ["tests.fiscal.test_emission.record_change"]
    RECORDED.clear()
    assert emit(actor, "sub-1", nfse_payload(VALID_CNPJ), "nfse").status_code == 202
    note = drive(Note.objects.get(ref="sub-1"), upstream=upstream)
    with transaction.atomic():
        locked = Note.objects.select_for_update().get(pk=note.pk)
        apply_upstream(locked, {"status": "substituido", "numero_nfse_substituta": "778"},
                       source="hook")
    note.refresh_from_db()
    assert note.status == NoteStatus.SUBSTITUIDO
    assert actor.client.get("/v2/nfse/sub-1").json()["numero_nfse_substituta"] == "778"
    published = [c.type for c in RECORDED]
    assert published[-1] == ChangeType.NOTE_REPLACED
    assert ChangeType.NOTE_AUTHORIZED in published


RECORDED: list = []


def record_change(change) -> None:  # type: ignore[no-untyped-def]
    """A FiscalChange subscriber for tests: remembers what was published."""
    RECORDED.append(change)


def test_file_paths_in_answers_serve_the_archived_bytes(actor: Actor, other: Actor,
                                                        empresa: Empresa,
                                                        upstream: Upstream) -> None:
    assert emit(actor, "arq-1", nfe_payload(VALID_CNPJ)).status_code == 202
    note = drive(Note.objects.get(ref="arq-1"), upstream=upstream)
    path = actor.client.get("/v2/nfe/arq-1").json()["caminho_xml_nota_fiscal"]
    response = actor.client.get(path)
    assert response.status_code == 200
    xml = b"".join(response.streaming_content) if response.streaming else response.content
    assert note.chave.encode() in xml
    # The link is the credential (tests/fiscal/test_file_links.py); the keyed path is not.
    assert other.client.get(f"/v2/arquivos/{note.pk}/xml_nota_fiscal").status_code == 404


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "application/octet-stream"]
)
def test_json_bodies_are_read_whatever_the_content_type_like_focus(
    actor: Actor, empresa: Empresa, upstream: Upstream, content_type: str
) -> None:
    # Focus's own curl and PHP examples send JSON with a form content type.
    import json

    response = actor.client.post("/v2/nfe?ref=ct-x", data=json.dumps(nfe_payload(VALID_CNPJ)),
                                 content_type=content_type)
    assert response.status_code == 202, response.content
    broken = actor.client.post("/v2/nfe?ref=ct-y", data="{", content_type=content_type)
    assert broken.status_code == 415


def test_an_inline_submit_reads_the_note_once_its_lock_and_the_company_once(
        actor: Actor, empresa: Empresa, upstream: Upstream) -> None:
    """The statements of POST /v2/nfe with the submit inline: the accept reads the company with
    its Focus token and writes the note; the submit runs on that note (no read of it nor of the
    company again), writes ahead, and locks the note once for Focus's answer."""
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement writes and the lock are Postgres's (SQLite: the ORM)")
    with CaptureQueriesContext(connection) as queries:
        assert emit(actor, "stmts-1", nfe_payload(VALID_CNPJ)).status_code == 202
    statements = [q["sql"] for q in queries.captured_queries]
    reads = [sql for sql in statements if sql.startswith("SELECT")]
    note_reads = [sql for sql in reads if 'FROM "fiscal_note"' in sql]
    assert len(note_reads) == 1 and note_reads[0].endswith("FOR UPDATE"), note_reads
    assert sum('FROM "tenants_empresa"' in sql for sql in reads) == 1, reads
    # The accept's note and row, the write-ahead and its row, the answer and its rows.
    assert [sql.split()[0] for sql in statements if '"fiscal_note"' in sql
            and not sql.startswith("SELECT")] == ["WITH", "WITH", "WITH"], statements
