from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from fiscal.models import Inutilizacao, Note, NoteStatus
from storage.archiving import archive_run_due
from storage.models import Artifact, ArtifactState
from storage.progress import Progress
from storage.scheduling import (
    artifacts_schedule_for_fiscal_event,
    artifacts_schedule_for_inutilizacao,
    artifacts_schedule_for_note,
)


class Command(BaseCommand):
    help = (
        "Schedule the archiving of every file of existing notes, fiscal events and "
        "inutilizações (idempotent: files already scheduled are skipped). With --now, also "
        "archive them in this process instead of leaving them to the workers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", type=int, help="only this tenant id")
        parser.add_argument("--now", action="store_true", help="archive in this process")

    def handle(self, *args: Any, **options: Any) -> None:
        notes = Note.objects.exclude(status=NoteStatus.PROCESSANDO).select_related("empresa")
        inutilizacoes = Inutilizacao.objects.select_related("empresa")
        if options["tenant"]:
            notes = notes.filter(tenant_id=options["tenant"])
            inutilizacoes = inutilizacoes.filter(tenant_id=options["tenant"])
        scheduled = 0
        progress = Progress(self.stdout, notes.count() + inutilizacoes.count(), "scheduling")
        for note in notes.order_by("id").iterator(chunk_size=500):
            with transaction.atomic():
                for event in note.fiscal_events.all():
                    scheduled += len(
                        artifacts_schedule_for_fiscal_event(fiscal_event=event)
                    )
                scheduled += len(artifacts_schedule_for_note(note=note))
            progress.advance()
        for inutilizacao in inutilizacoes.order_by("id").iterator(chunk_size=500):
            with transaction.atomic():
                scheduled += len(
                    artifacts_schedule_for_inutilizacao(inutilizacao=inutilizacao)
                )
            progress.advance()
        progress.finish()
        self.stdout.write(f"{scheduled} file(s) newly scheduled for archiving.")
        if not options["now"]:
            return
        pending = Artifact.objects.filter(state=ArtifactState.PENDING)
        if options["tenant"]:
            pending = pending.filter(tenant_id=options["tenant"])
        progress = Progress(self.stdout, pending.count(), "archiving")
        totals = {"archived": 0, "retry": 0, "skipped": 0}
        while True:
            counts = archive_run_due(limit=100)
            for key, value in counts.items():
                totals[key] += value
            progress.advance(sum(counts.values()))
            if not any(counts.values()):
                break
        progress.finish()
        self.stdout.write(
            f"archived {totals['archived']}, failed (rescheduled) {totals['retry']}, "
            f"taken by another worker {totals['skipped']}."
        )
