"""Scheduling the archive: rows inside the fiscal transaction, claims, the dispatcher.

1. ``on_fiscal_change`` (a ``FG_CHANGE_SUBSCRIBERS`` entry) runs inside the fiscal transaction
   and only writes rows: one pending Artifact per ``caminho_*`` path, unique per (tenant,
   environment, source path). On commit it enqueues the fast path; if the broker is down, the
   dispatcher finds the rows anyway.
2. ``archive_dispatch`` (beat) claims due rows with a conditional update and enqueues one thin
   task each (storage/archiving.py does the work).

Tasks are sent by name (a Celery signature): storage/tasks.py imports this module, never the
reverse.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from core import statements
from core.claims import claim
from fiscal.changes import ChangeType, FiscalChange
from fiscal.focus.client import base_url
from fiscal.models import FiscalEvent, Inutilizacao, Note, NoteStatus
from storage import layout
from storage.models import Artifact, ArtifactKind, ArtifactState

logger = logging.getLogger("storage")

ARCHIVE_TASK = "storage.tasks.archive_artifact"
# The fast path of several rows written together (a note's files): one message for them all.
ARCHIVE_MANY_TASK = "storage.tasks.archive_artifacts"


def on_fiscal_change(change: FiscalChange) -> None:
    """Subscriber of fiscal/changes.py: schedule the archiving of every file the change names.

    Runs inside the fiscal transaction, so it only writes rows. It never lets an error escape:
    a broken archive must not roll back a note's settlement (the backfill command and the
    serving path create missing rows later).
    """
    try:
        try:
            created = _schedule_change(change, bulk=True)
        except IntegrityError:
            # A concurrent scheduler inserted one of these files between the read and the
            # insert: row by row, each insert guarded on its own, skips what exists.
            created = _schedule_change(change, bulk=False)
    except Exception:
        logger.exception("archive scheduling failed for %s (note %s)", change.type,
                         getattr(change.note, "pk", None))
        return
    if created:
        enqueue_on_commit([a.pk for a in created])


def _schedule_change(change: FiscalChange, *, bulk: bool) -> list[Artifact]:
    # One savepoint: the archive's rows never take the fiscal transaction down with them.
    with transaction.atomic():
        created: list[Artifact] = []
        if change.inutilizacao is not None:
            created += artifacts_schedule_for_inutilizacao(inutilizacao=change.inutilizacao)
        if change.fiscal_event is not None:
            created += artifacts_schedule_for_fiscal_event(fiscal_event=change.fiscal_event,
                                                           bulk=bulk)
        if change.note is not None:
            # A note's authorization happens once: none of its files can be scheduled before
            # (the backfill and the serving path only see settled notes), so the read that
            # finds them is skipped. If one is after all (or a key is taken), the insert
            # raises IntegrityError and the caller goes row by row, as after a race.
            created += artifacts_schedule_for_note(
                note=change.note, bulk=bulk,
                unscheduled=change.type == ChangeType.NOTE_AUTHORIZED)
    return created


def enqueue_archive(artifact_id: int, claim_token: str) -> None:
    """Hand one row to a worker. No publish retries: this may run in a tenant's request, and a
    row that is not handed over stays due for the dispatcher."""
    current_app.signature(ARCHIVE_TASK).apply_async(args=(artifact_id, claim_token),
                                                    queue="archive", retry=False)


def enqueue_on_commit(artifact_ids: list[int]) -> None:
    """After commit, the fast path: one task for the rows, claiming each row itself."""
    transaction.on_commit(partial(_enqueue, artifact_ids), robust=True)


def _enqueue(artifact_ids: list[int]) -> None:
    # No claim token: the task claims each row itself, so a lost message costs nothing (the
    # rows stay due and the dispatcher takes them). One message per note, not per file: a
    # publish is a broker round trip in the tenant's (or Focus's hook's) request.
    try:
        if len(artifact_ids) == 1:
            enqueue_archive(artifact_ids[0], "")
        else:
            current_app.signature(ARCHIVE_MANY_TASK).apply_async(
                args=(list(artifact_ids),), queue="archive", retry=False)
    except Exception as exc:  # noqa: BLE001 - broker down: the dispatcher finds the rows
        logger.warning("archive fast path not enqueued for artifacts %s: %s", artifact_ids, exc)


def note_ready_for_archive(note: Note) -> bool:
    """Whether the note's files are final enough to be written once and kept."""
    if note.status == NoteStatus.PROCESSANDO:
        return False
    # An offline-contingency NFCe gets its protocol later and Focus then serves a new XML:
    # archiving now would keep the unauthorized one forever (writes are create-only).
    return not (note.contingencia_offline and not note.contingencia_offline_efetivada)


def _note_anchor(note: Note) -> datetime:
    return note.authorized_at or note.created_at or timezone.now()


def _retain_until(anchor: datetime) -> datetime:
    return layout.add_years(anchor, settings.FG_RETENTION_YEARS)


def artifacts_schedule_for_note(*, note: Note, bulk: bool = False,
                                unscheduled: bool = False) -> list[Artifact]:
    """Pending rows for every file of the note's consulta body; returns the new ones.

    ``bulk``: one read and one insert for all the files (the caller handles the IntegrityError
    of a concurrent scheduler, see ``on_fiscal_change``); otherwise row by row, each guarded.
    ``unscheduled`` (with ``bulk``): the caller knows no file of the note is scheduled yet;
    the insert goes without the read (an IntegrityError still says when that was wrong).
    """
    if not note_ready_for_archive(note):
        return []
    files = layout.note_files(note.upstream, base_url=base_url(note.environment))
    rows = [_note_file_row(note, ref) for ref in files]
    if bulk and unscheduled:
        return _create_bulk(rows, read=False)
    return _create_rows(rows, bulk=bulk)


def artifacts_schedule_for_fiscal_event(*, fiscal_event: FiscalEvent,
                                        bulk: bool = False) -> list[Artifact]:
    note = fiscal_event.note
    files = layout.body_files(fiscal_event.upstream, base_url=base_url(note.environment))
    return _create_rows([_note_file_row(note, ref, fiscal_event=fiscal_event) for ref in files],
                        bulk=bulk)


def _create_rows(rows: list[dict[str, Any]], *, bulk: bool) -> list[Artifact]:
    if not bulk:
        return [a for values in rows if (a := _create(**values)) is not None]
    return _create_bulk(rows)


def _create_bulk(rows: list[dict[str, Any]], *, read: bool = True) -> list[Artifact]:
    """Insert the rows whose file is not scheduled yet, in one statement after one read.

    Same outcome as ``_create`` row by row when nobody else schedules at the same time; if
    someone does, the insert raises IntegrityError and the caller goes row by row.
    ``read=False``: the caller knows none is scheduled; insert them all, no read.
    """
    if not rows:
        return []
    first = rows[0]  # the files of one note: one tenant, one environment
    keys = [values["key"] for values in rows]
    taken: list[tuple[int, str, str, str]] = []
    if read:
        taken = list(Artifact.objects.filter(
            Q(tenant_id=first["tenant_id"], environment=first["environment"],
              source_path__in=[values["source_path"] for values in rows]) | Q(key__in=keys)
        ).values_list("tenant_id", "environment", "source_path", "key"))
    sources = {(t, e, p) for t, e, p, _ in taken}
    used = {k for *_, k in taken}
    new = []
    for values in rows:
        values = dict(values)
        if (values["tenant_id"], values["environment"], values["source_path"]) in sources:
            continue
        key = values.pop("key")
        if key in used:
            key = layout.disambiguate(key, values["source_path"])
        used.add(key)
        new.append(Artifact(key=key, state=ArtifactState.PENDING, next_attempt_at=timezone.now(),
                            legal_hold=settings.FG_RETENTION_LEGAL_HOLD, **values))
    return statements.insert(new)


def _note_file_row(
    note: Note, ref: layout.FileRef, *, fiscal_event: FiscalEvent | None = None
) -> dict[str, Any]:
    kind = layout.kind_of(ref.field, note.doc_type, ref.path)
    sequence = layout.sequence_of(
        kind, ref, fiscal_event.sequence if fiscal_event is not None else None
    )
    anchor = _note_anchor(note)
    period = layout.month_of(timezone.localtime(anchor))
    folder = layout.strip_chave(note.chave) or note.ref
    if ref.attempt is not None:
        # An earlier attempt has a chave of its own: its files get that folder.
        folder = ref.attempt_chave or f"{folder}-tentativa-{ref.attempt}"
    key = layout.artifact_key(
        tenant_id=note.tenant_id, documento=note.empresa.documento,
        environment=note.environment, doc_type=note.doc_type, period=period, folder=folder,
        kind=kind, field=ref.field, path=ref.path, sequence=sequence,
    )
    return {
        "tenant_id": note.tenant_id, "empresa_id": note.empresa_id, "note": note,
        "fiscal_event": fiscal_event, "inutilizacao": None, "environment": note.environment,
        "doc_type": note.doc_type, "kind": kind, "field": ref.field, "attempt": ref.attempt,
        "sequence": sequence, "source_path": ref.path, "key": key, "period": period,
        "retain_until": _retain_until(anchor),
    }


def artifacts_schedule_for_inutilizacao(*, inutilizacao: Inutilizacao) -> list[Artifact]:
    anchor = inutilizacao.created_at or timezone.now()
    period = layout.month_of(timezone.localtime(anchor))
    folder = (f"{inutilizacao.modelo}-{inutilizacao.serie}-"
              f"{inutilizacao.numero_inicial}-{inutilizacao.numero_final}")
    created = []
    for ref in layout.body_files(inutilizacao.upstream):
        kind = (ArtifactKind.INUTILIZACAO_XML if ref.field == "xml"
                else layout.kind_of(ref.field, "inutilizacao", ref.path))
        key = layout.artifact_key(
            tenant_id=inutilizacao.tenant_id, documento=inutilizacao.empresa.documento,
            environment=inutilizacao.environment, doc_type="inutilizacao", period=period,
            folder=folder, kind=kind, field=ref.field, path=ref.path, sequence=None,
        )
        artifact = _create(
            tenant_id=inutilizacao.tenant_id, empresa_id=inutilizacao.empresa_id, note=None,
            fiscal_event=None, inutilizacao=inutilizacao,
            environment=inutilizacao.environment, doc_type="inutilizacao", kind=kind,
            field=ref.field, attempt=None, sequence=None, source_path=ref.path, key=key,
            period=period, retain_until=_retain_until(anchor),
        )
        if artifact is not None:
            created.append(artifact)
    return created


def _create(**values: Any) -> Artifact | None:
    """Insert one pending row; None when the file is already scheduled (idempotent)."""
    same_source = Artifact.objects.filter(
        tenant_id=values["tenant_id"], environment=values["environment"],
        source_path=values["source_path"],
    )
    if same_source.exists():
        return None
    key = values.pop("key")
    # Two different Focus files that would get the same readable name: the second one gets a
    # short hash of its source path.
    candidates = [key, layout.disambiguate(key, values["source_path"])]
    if Artifact.objects.filter(key=key).exists():
        candidates = candidates[1:]
    for candidate in candidates:
        try:
            with transaction.atomic():
                return Artifact.objects.create(
                    key=candidate, state=ArtifactState.PENDING,
                    next_attempt_at=timezone.now(),
                    legal_hold=settings.FG_RETENTION_LEGAL_HOLD, **values,
                )
        except IntegrityError:
            # The unique constraints are the guard against concurrent schedulers.
            if same_source.exists():
                return None
    return None


def artifact_claim(*, artifact_id: int, now: datetime | None = None) -> str | None:
    """Take a due pending row for one attempt; None if someone else has it or it is not due."""
    now = now or timezone.now()
    token = secrets.token_hex(16)
    claimed = claim(
        Artifact, artifact_id, where={"state": ArtifactState.PENDING, "next_attempt_at__lte": now},
        claim_token=token,
        # The lease: if the worker dies, the row is due again once it runs out.
        next_attempt_at=now + timedelta(seconds=settings.FG_ARCHIVE_CLAIM_LEASE),
        attempts=F("attempts") + 1,
    )
    return token if claimed else None


def archive_dispatch(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Claim due rows and enqueue one task each; returns how many were enqueued."""
    now = now or timezone.now()
    due = list(
        Artifact.objects.filter(state=ArtifactState.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[: limit or settings.FG_ARCHIVE_DISPATCH_BATCH]
    )
    enqueued = 0
    for artifact_id in due:
        token = artifact_claim(artifact_id=artifact_id, now=now)
        if token is None:
            continue
        try:
            enqueue_archive(artifact_id, token)
        except Exception as exc:  # noqa: BLE001
            # Broker down: give the claim back so a later dispatch takes the row at once.
            claim(Artifact, artifact_id, where={"claim_token": token}, claim_token="",
                  next_attempt_at=now, attempts=F("attempts") - 1)
            logger.warning("archive dispatch could not enqueue: %s", exc)
            break
        enqueued += 1
    return enqueued
