"""Settling schedules archive work as rows, inside the fiscal transaction, without any I/O."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from fiscal.changes import FiscalChange, publish
from fiscal.models import FiscalEvent, Inutilizacao
from storage import layout
from storage.archiving import archive_run_due
from storage.models import Artifact, ArtifactKind, ArtifactState
from storage.scheduling import archive_dispatch
from tests.conftest import Actor
from tests.storage.conftest import (
    AUTHORIZED_AT,
    CHAVE,
    PREVIOUS_CHAVE,
    SentTasks,
    publish_change,
)


@pytest.fixture
def enqueued(sent_tasks: SentTasks) -> list[tuple]:
    return sent_tasks.calls


def test_an_authorized_note_schedules_one_pending_row_per_file(
    actor: Actor, other: Actor, make_note, upstream, settings
) -> None:
    cnpj = "11222333000181"
    note = make_note(actor.tenant, extra={
        "tentativa_anterior": {
            "chave_nfe": f"NFe{PREVIOUS_CHAVE}",
            "caminho_xml_nota_fiscal": f"/arquivos_development/{cnpj}/202603/XMLs/"
                                       f"{PREVIOUS_CHAVE}-nfe.xml",
            "caminho_xml_cancelamento": f"/arquivos_development/{cnpj}/202603/XMLs/"
                                        f"{PREVIOUS_CHAVE}-can.xml",
        },
        "tentativas_anteriores": [
            {"caminho_xml_nota_fiscal": "/arquivos_development/x/202603/XMLs/second-nfe.xml"},
        ],
    })
    publish_change(note)

    rows = {(a.field, a.attempt): a for a in Artifact.objects.filter(note=note)}
    assert set(rows) == {("xml_nota_fiscal", None), ("danfe", None), ("xml_nota_fiscal", 0),
                         ("xml_cancelamento", 0), ("xml_nota_fiscal", 1)}
    xml = rows["xml_nota_fiscal", None]
    assert xml.state == ArtifactState.PENDING
    assert xml.next_attempt_at <= timezone.now()
    assert xml.kind == ArtifactKind.NFE_XML
    assert rows["danfe", None].kind == ArtifactKind.DANFE_PDF
    assert rows["xml_cancelamento", 0].kind == ArtifactKind.CANCEL_XML
    assert xml.key == f"{actor.tenant.pk}/{cnpj}/homologacao/nfe/2026/03/{CHAVE}/nfe.xml"
    assert rows["danfe", None].key.endswith(f"/{CHAVE}/danfe.pdf")
    # An earlier attempt has its own chave, and so its own folder.
    assert rows["xml_cancelamento", 0].key.endswith(f"/{PREVIOUS_CHAVE}/cancelamento.xml")
    assert rows["xml_nota_fiscal", 1].key.endswith(f"/{CHAVE}-tentativa-1/nfe.xml")
    # Retained for FG_RETENTION_YEARS after authorization.
    assert xml.retain_until == AUTHORIZED_AT.replace(year=2031)
    assert xml.source_path == note.upstream["caminho_xml_nota_fiscal"]
    assert not Artifact.objects.filter(tenant=other.tenant).exists()
    assert upstream.count() == 0  # nothing but rows inside the transaction


def test_publishing_twice_schedules_each_file_once(actor: Actor, make_note) -> None:
    note = make_note(actor.tenant)
    publish_change(note)
    publish_change(note, "note.cancelled")
    assert Artifact.objects.filter(note=note).count() == 2


def test_the_fast_path_is_enqueued_only_after_commit(
    actor: Actor, make_note, enqueued, sent_tasks: SentTasks, django_capture_on_commit_callbacks
) -> None:
    note = make_note(actor.tenant)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        publish_change(note)
        assert enqueued == []
    assert len(callbacks) == 1
    ids = set(Artifact.objects.filter(note=note).values_list("pk", flat=True))
    assert {call[0] for call in enqueued} == ids
    assert all(call[1:] == ("", "archive") for call in enqueued)
    # The note's two files go in one message.
    assert [name for name, _ in sent_tasks.messages] == ["storage.tasks.archive_artifacts"]


def test_a_rolled_back_settlement_leaves_no_archive_work(actor: Actor, make_note) -> None:
    note = make_note(actor.tenant)
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(FiscalChange(type="note.authorized", tenant=note.tenant, empresa=note.empresa,
                             data={}, note=note))
        raise RuntimeError("the fiscal service failed after publishing")
    assert not Artifact.objects.exists()


def test_notes_whose_files_are_not_final_schedule_nothing(actor: Actor, make_note) -> None:
    processing = make_note(actor.tenant, status="processando_autorizacao")
    offline = make_note(actor.tenant, chave="3526" + "0" * 40, contingencia_offline=True,
                        contingencia_offline_efetivada=False)
    publish_change(processing, "note.contingency_started")
    publish_change(offline, "note.contingency_started")
    assert not Artifact.objects.exists()
    offline.contingencia_offline_efetivada = True
    offline.save()
    publish_change(offline, "note.contingency_effective")
    assert Artifact.objects.filter(note=offline).count() == 2


def test_fiscal_event_and_inutilizacao_files_are_scheduled(actor: Actor, make_note) -> None:
    note = make_note(actor.tenant)
    base = "/arquivos_development/11222333000181/202603"
    cce = FiscalEvent.objects.create(
        tenant=actor.tenant, note=note, kind=FiscalEvent.Kind.CARTA_CORRECAO, sequence=2,
        status=FiscalEvent.Status.AUTORIZADO,
        upstream={"caminho_xml_carta_correcao": f"{base}/XMLs/{CHAVE}-cce-02.xml",
                  "caminho_pdf_carta_correcao": f"/notas_fiscais/NFe{CHAVE}/cartas_correcao/2.pdf",
                  "numero_carta_correcao": 2},
    )
    # The note's consulta names the same (latest) carta de correção: still one row each.
    note.upstream = {**note.upstream, **cce.upstream}
    note.save()
    publish_change(note, "note.correction_registered", fiscal_event=cce)
    rows = {a.field: a for a in Artifact.objects.filter(note=note)}
    assert rows["xml_carta_correcao"].fiscal_event == cce
    assert rows["xml_carta_correcao"].key.endswith(f"/{CHAVE}/cce-02.xml")
    assert rows["pdf_carta_correcao"].key.endswith(f"/{CHAVE}/cce-02.pdf")
    assert rows["pdf_carta_correcao"].kind == ArtifactKind.CCE_PDF

    inutilizacao = Inutilizacao.objects.create(
        tenant=actor.tenant, empresa=note.empresa, environment="homologacao", modelo="55",
        serie="1", numero_inicial=10, numero_final=12, status="autorizado",
        upstream={"caminho_xml": f"{base}/XMLs/26112223330001815500100000001000000012-inu.xml"},
    )
    with transaction.atomic():
        publish(FiscalChange(type="inutilizacao.registered", tenant=actor.tenant,
                             empresa=note.empresa, data={}, inutilizacao=inutilizacao))
    row = Artifact.objects.get(inutilizacao=inutilizacao)
    assert row.kind == ArtifactKind.INUTILIZACAO_XML
    assert row.note is None
    assert "/homologacao/inutilizacao/" in row.key
    assert row.key.endswith("/55-1-10-12/inutilizacao.xml")


def test_a_scheduling_bug_never_breaks_the_fiscal_transaction(
    actor: Actor, make_note, monkeypatch
) -> None:
    note = make_note(actor.tenant)

    def broken(*args, **kwargs):
        raise KeyError("unexpected body")

    monkeypatch.setattr(layout, "note_files", broken)
    publish_change(note)  # does not raise
    note.refresh_from_db()
    assert note.status == "autorizado"
    assert not Artifact.objects.exists()


def test_the_dispatcher_claims_each_due_row_once(actor: Actor, make_note, enqueued) -> None:
    note = make_note(actor.tenant)
    publish_change(note)
    assert archive_dispatch() == 2
    assert archive_dispatch() == 0  # claimed: the lease pushed them out
    tokens = {call[1] for call in enqueued}
    assert len(tokens) == 2 and "" not in tokens
    rows = Artifact.objects.filter(note=note)
    assert all(a.attempts == 1 and a.claim_token for a in rows)
    # A worker that died: once the lease runs out the row is due again.
    later = timezone.now() + timedelta(seconds=301)
    assert archive_dispatch(now=later) == 2


def test_a_broker_outage_loses_no_archive_work(
    actor: Actor, make_note, upstream, settings, tmp_path, sent_tasks: SentTasks,
    django_capture_on_commit_callbacks
) -> None:
    from kombu.exceptions import OperationalError

    settings.FG_STORAGE_BACKEND, settings.FG_ARCHIVE_DIR = "filesystem", tmp_path

    sent_tasks.fail = OperationalError(
        "Error 111 connecting to 127.0.0.1:6379. Connection refused."
    )
    note = make_note(actor.tenant, upstream=upstream)
    with django_capture_on_commit_callbacks(execute=True):
        publish_change(note)  # the settlement commits all the same
    assert archive_dispatch() == 0
    rows = Artifact.objects.filter(note=note)
    assert all(a.state == ArtifactState.PENDING and a.attempts == 0 for a in rows)
    # When a worker gets to them (the broker back), nothing was lost or delayed.
    assert archive_run_due()["archived"] == 2


def test_a_concurrent_scheduler_between_read_and_insert_costs_nothing(
    actor: Actor, make_note, monkeypatch
) -> None:
    """The bulk insert reads first (or, for an authorization, not at all); a row another
    scheduler inserts in between makes it fail with IntegrityError, and the row-by-row path
    then schedules only what is missing."""
    from storage import scheduling

    note = make_note(actor.tenant)
    real = scheduling._create_bulk

    def racing(rows, **options):
        # The other scheduler wins the first file just after this one read the table.
        scheduling._create(**rows[0])
        monkeypatch.setattr(scheduling.Artifact.objects, "filter",
                            lambda *a, **k: Artifact.objects.none())
        try:
            return real(rows, **options)
        finally:
            monkeypatch.undo()

    monkeypatch.setattr(scheduling, "_create_bulk", racing)
    publish_change(note)
    note.refresh_from_db()
    assert note.status == "autorizado"
    rows = Artifact.objects.filter(note=note)
    assert rows.count() == 2
    assert len({a.source_path for a in rows}) == 2
