"""Every write of the archive: scheduling files, archiving them, verifying them, serving them.

How a file travels (DESIGN.md §2, §5.3):
1. ``on_fiscal_change`` runs inside the fiscal transaction and only writes rows: one pending
   Artifact per ``caminho_*`` path, unique per (tenant, environment, source path). On commit it
   enqueues the fast path; if the broker is down, the dispatcher finds the rows anyway.
2. ``archive_dispatch`` (beat) claims due rows with a conditional update and enqueues thin tasks;
   ``artifact_archive`` streams the file from Focus (hashing as it goes, spooled to disk past a
   small size), writes it create-only with its SHA-256 and retention, and marks the row. Any
   failure reschedules the row with exponential backoff (capped; retries go on for days): the
   note itself is never touched, so emission and webhooks never wait on the archive.
3. A GET on one of our file paths serves the archived bytes, or archives on the way.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import logging
import random
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from fiscal.changes import FiscalChange
from fiscal.focus import budget
from fiscal.focus.client import (
    FocusClient,
    FocusNotFound,
    FocusRateLimited,
    FocusUpstreamError,
    base_url,
)
from fiscal.models import FiscalEvent, Inutilizacao, Note, NoteEvent, NoteStatus
from storage import layout, signals
from storage.backends import (
    ChecksumMismatch,
    ObjectExists,
    ObjectMissing,
    StorageUnavailable,
    StoredObject,
    get_backend,
)
from storage.models import Artifact, ArtifactKind, ArtifactState, Verification
from storage.zipstream import Member, zip_stream

logger = logging.getLogger("storage")


class FileUnavailable(Exception):
    """The file is not archived yet and Focus could not give it now: try again later."""


class FileNotFound(Exception):
    """Neither the archive nor Focus has this file."""


class DownloadRefused(Exception):
    """Focus answered with something that is not a file we keep (empty, or too large)."""


# --- scheduling: inside the fiscal transaction, rows only -----------------------------------


def on_fiscal_change(change: FiscalChange) -> None:
    """Subscriber of fiscal/changes.py: schedule the archiving of every file the change names.

    Runs inside the fiscal transaction, so it only writes rows. It never lets an error escape:
    a broken archive must not roll back a note's settlement (the backfill command and the
    serving path create missing rows later).
    """
    try:
        with transaction.atomic():
            created: list[Artifact] = []
            if change.inutilizacao is not None:
                created += artifacts_schedule_for_inutilizacao(inutilizacao=change.inutilizacao)
            if change.fiscal_event is not None:
                created += artifacts_schedule_for_fiscal_event(fiscal_event=change.fiscal_event)
            if change.note is not None:
                created += artifacts_schedule_for_note(note=change.note)
    except Exception:
        logger.exception("archive scheduling failed for %s (note %s)", change.type,
                         getattr(change.note, "pk", None))
        return
    if created:
        transaction.on_commit(partial(_enqueue, [a.pk for a in created]), robust=True)


def _enqueue(artifact_ids: list[int]) -> None:
    from storage.tasks import archive_artifact

    for artifact_id in artifact_ids:
        try:
            # No claim token: the task claims the row itself, so a lost message costs nothing
            # (the row stays due and the dispatcher takes it). No publish retries either: this
            # runs after the fiscal commit, possibly in a tenant's request.
            archive_artifact.apply_async(args=(artifact_id, ""), queue="archive", retry=False)
        except Exception as exc:  # noqa: BLE001 - broker down: the dispatcher finds the row
            logger.warning("archive fast path not enqueued for artifact %s: %s", artifact_id, exc)
            return


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


def artifacts_schedule_for_note(*, note: Note) -> list[Artifact]:
    """Pending rows for every file of the note's consulta body; returns the new ones."""
    if not note_ready_for_archive(note):
        return []
    files = layout.note_files(note.upstream, base_url=base_url(note.environment))
    return [a for ref in files if (a := _schedule_note_file(note, ref)) is not None]


def artifacts_schedule_for_fiscal_event(*, fiscal_event: FiscalEvent) -> list[Artifact]:
    note = fiscal_event.note
    files = layout.body_files(fiscal_event.upstream, base_url=base_url(note.environment))
    return [
        a for ref in files
        if (a := _schedule_note_file(note, ref, fiscal_event=fiscal_event)) is not None
    ]


def _schedule_note_file(
    note: Note, ref: layout.FileRef, *, fiscal_event: FiscalEvent | None = None
) -> Artifact | None:
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
    return _create(
        tenant_id=note.tenant_id, empresa_id=note.empresa_id, note=note,
        fiscal_event=fiscal_event, inutilizacao=None, environment=note.environment,
        doc_type=note.doc_type, kind=kind, field=ref.field, attempt=ref.attempt,
        sequence=sequence, source_path=ref.path, key=key, period=period,
        retain_until=_retain_until(anchor),
    )


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


# --- claims and dispatch ---------------------------------------------------------------------


def artifact_claim(*, artifact_id: int, now: datetime | None = None) -> str | None:
    """Take a due pending row for one attempt; None if someone else has it or it is not due."""
    now = now or timezone.now()
    token = secrets.token_hex(16)
    claimed = Artifact.objects.filter(
        pk=artifact_id, state=ArtifactState.PENDING, next_attempt_at__lte=now
    ).update(
        claim_token=token,
        # The lease: if the worker dies, the row is due again once it runs out.
        next_attempt_at=now + timedelta(seconds=settings.FG_ARCHIVE_CLAIM_LEASE),
        attempts=F("attempts") + 1,
    )
    return token if claimed == 1 else None


def archive_dispatch(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Claim due rows and enqueue one task each; returns how many were enqueued."""
    from storage.tasks import archive_artifact

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
            archive_artifact.apply_async(args=(artifact_id, token), queue="archive", retry=False)
        except Exception as exc:  # noqa: BLE001
            # Broker down: give the claim back so a later dispatch takes the row at once.
            Artifact.objects.filter(pk=artifact_id, claim_token=token).update(
                claim_token="", next_attempt_at=now, attempts=F("attempts") - 1
            )
            logger.warning("archive dispatch could not enqueue: %s", exc)
            break
        enqueued += 1
    return enqueued


def archive_run_due(*, now: datetime | None = None, limit: int | None = None) -> dict[str, int]:
    """Claim and archive due rows in this process (management commands, tests, benchmarks)."""
    counts = {"archived": 0, "retry": 0, "skipped": 0}
    now = now or timezone.now()
    due = list(
        Artifact.objects.filter(state=ArtifactState.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[: limit or settings.FG_ARCHIVE_DISPATCH_BATCH]
    )
    for artifact_id in due:
        token = artifact_claim(artifact_id=artifact_id, now=now)
        outcome = artifact_archive(artifact_id=artifact_id, claim_token=token) if token else (
            "skipped"
        )
        counts[outcome] += 1
    return counts


# --- the work: download from Focus, store once -----------------------------------------------


@dataclass
class Fetched:
    file: IO[bytes]  # positioned at 0; the caller closes it
    sha256: str
    size: int
    content_type: str


def _download(*, environment: str, token: str, path: str, kind: str) -> Fetched:
    """Stream one Focus file into a spooled temporary file, hashing it on the way.

    Memory stays flat whatever the size: past FG_ARCHIVE_SPOOL_BYTES the bytes go to disk.
    """
    client = FocusClient(
        environment=environment, token=token, timeout=settings.FG_ARCHIVE_DOWNLOAD_TIMEOUT
    )
    limit = settings.FG_ARCHIVE_MAX_BYTES
    # File paths do not take from the token's request budget (fiscal/focus/budget.py): Focus
    # serves them as public files, as the sandbox does. A 429 is still shared with everyone.
    spool = tempfile.SpooledTemporaryFile(max_size=settings.FG_ARCHIVE_SPOOL_BYTES)  # noqa: SIM115
    try:
        digest = hashlib.sha256()
        size = 0
        with client.download(path) as response:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise DownloadRefused(f"{path}: {declared} bytes, more than {limit}")
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise DownloadRefused(f"{path}: more than {limit} bytes")
                digest.update(chunk)
                spool.write(chunk)
            upstream_type = response.headers.get("content-type", "").strip()
        if size == 0:
            raise DownloadRefused(f"{path}: Focus answered an empty file")
        spool.seek(0)
    except FocusRateLimited as exc:
        spool.close()
        budget.observe(fingerprint=client.fingerprint, remaining=0, reset=exc.retry_after)
        raise
    except BaseException:
        spool.close()
        raise
    if not upstream_type or upstream_type.startswith("application/octet-stream"):
        upstream_type = layout.content_type_for(kind, path)
    return Fetched(file=spool, sha256=digest.hexdigest(), size=size,
                   content_type=upstream_type[:100])


def _fetch(artifact: Artifact) -> Fetched:
    return _download(
        environment=artifact.environment,
        token=artifact.empresa.focus_token(artifact.environment),
        path=artifact.source_path,
        kind=artifact.kind,
    )


def _store(artifact: Artifact, fetched: Fetched) -> tuple[StoredObject, str]:
    """Write once. A key already present (a crash after the write, a race with the serving
    path) is success when its bytes are ours; otherwise the first version is kept."""
    backend = get_backend()
    try:
        stored = backend.put(
            key=artifact.key, source=fetched.file, sha256=fetched.sha256, size=fetched.size,
            content_type=fetched.content_type, retain_until=artifact.retain_until,
            legal_hold=artifact.legal_hold,
        )
        return stored, ""
    except ObjectExists:
        existing = backend.head(artifact.key)
        if existing is None:
            raise StorageUnavailable(f"{artifact.key}: write refused, object not found") from None
        if existing.sha256 == fetched.sha256:
            return existing, ""
        note = (f"Focus now serves other bytes (sha256 {fetched.sha256}); the version archived "
                f"first (sha256 {existing.sha256}) is kept: archive writes are create-only.")
        logger.warning("archive %s: %s", artifact.key, note)
        return existing, note


def _mark_archived(
    artifact: Artifact, stored: StoredObject, *, claim_token: str | None, note_text: str = ""
) -> bool:
    now = timezone.now()
    rows = Artifact.objects.filter(pk=artifact.pk, state=ArtifactState.PENDING)
    if claim_token is not None:
        rows = rows.filter(claim_token=claim_token)
    updated = rows.update(
        state=ArtifactState.ARCHIVED, sha256=stored.sha256, size=stored.size,
        content_type=stored.content_type[:100], version_id=stored.version_id,
        archived_at=now, next_attempt_at=None, claim_token="", last_error=note_text,
    )
    if updated != 1:
        return False
    if artifact.note_id:
        NoteEvent.objects.create(
            note_id=artifact.note_id, kind=NoteEvent.Kind.ARCHIVED,
            message=f"{artifact.get_kind_display()} archived ({stored.size} bytes)",
            data={"artifact_id": artifact.pk, "key": artifact.key, "sha256": stored.sha256,
                  "size": stored.size, "version_id": stored.version_id,
                  "retain_until": artifact.retain_until.isoformat(),
                  **({"warning": note_text} if note_text else {})},
        )
    logger.info("archived %s (%s bytes, sha256 %s)", artifact.key, stored.size, stored.sha256)
    return True


def _backoff(attempts: int) -> float:
    base = settings.FG_ARCHIVE_RETRY_BASE * 2 ** max(attempts - 1, 0)
    return min(base, settings.FG_ARCHIVE_RETRY_MAX) * random.uniform(0.9, 1.1)  # noqa: S311


def _worth_telling(attempts: int) -> bool:
    # The timeline shows the first failures and then every tenth: retries go on for days.
    return attempts <= 3 or attempts % 10 == 0


def _reschedule(artifact: Artifact, claim_token: str, error: BaseException) -> None:
    delay = error.retry_after if isinstance(error, FocusRateLimited) else _backoff(
        artifact.attempts
    )
    next_at = timezone.now() + timedelta(seconds=delay)
    message = f"{type(error).__name__}: {error}"[:1000]
    updated = Artifact.objects.filter(
        pk=artifact.pk, state=ArtifactState.PENDING, claim_token=claim_token
    ).update(next_attempt_at=next_at, claim_token="", last_error=message)
    logger.warning("archive %s failed (attempt %s), next at %s: %s",
                   artifact.key, artifact.attempts, next_at.isoformat(), message)
    if updated and artifact.note_id and _worth_telling(artifact.attempts):
        NoteEvent.objects.create(
            note_id=artifact.note_id, kind=NoteEvent.Kind.ARCHIVE_ERROR,
            message=f"{artifact.get_kind_display()} not archived yet: {message[:300]}",
            data={"artifact_id": artifact.pk, "attempts": artifact.attempts,
                  "error": message, "next_attempt_at": next_at.isoformat()},
        )


RETRYABLE = (FocusUpstreamError, StorageUnavailable, ChecksumMismatch, DownloadRefused, OSError)


def artifact_archive(*, artifact_id: int, claim_token: str) -> str:
    """One attempt at archiving a row: "archived", "retry" or "skipped" (not ours to do).

    An empty token means "claim it yourself" (the on-commit fast path).
    """
    if not claim_token:
        claim_token = artifact_claim(artifact_id=artifact_id) or ""
        if not claim_token:
            return "skipped"
    artifact = (
        Artifact.objects.select_related("empresa")
        .filter(pk=artifact_id, state=ArtifactState.PENDING, claim_token=claim_token)
        .first()
    )
    if artifact is None:
        return "skipped"
    try:
        stored, note_text = _fetch_and_store(artifact)
    except RETRYABLE as exc:
        _reschedule(artifact, claim_token, exc)
        return "retry"
    except Exception as exc:  # a bug must not lose the row: it is retried like the rest
        logger.exception("archive %s failed unexpectedly", artifact.key)
        _reschedule(artifact, claim_token, exc)
        return "retry"
    _mark_archived(artifact, stored, claim_token=claim_token, note_text=note_text)
    return "archived"


def _fetch_and_store(artifact: Artifact) -> tuple[StoredObject, str]:
    """Download the file from Focus into a spooled temp file and store it; always close it."""
    fetched = _fetch(artifact)
    try:
        return _store(artifact, fetched)
    finally:
        fetched.file.close()


def artifact_fetch_now(*, artifact: Artifact) -> Artifact:
    """Archive a pending row inside a request (serving path). Raises FileNotFound /
    FileUnavailable; the row's own schedule is left as it is on failure."""
    try:
        stored, note_text = _fetch_and_store(artifact)
    except FocusNotFound:
        raise FileNotFound(artifact.source_path) from None
    except RETRYABLE as exc:
        raise FileUnavailable(str(exc)) from None
    _mark_archived(artifact, stored, claim_token=None, note_text=note_text)
    artifact.refresh_from_db()
    return artifact


def artifact_rearchive(*, artifact: Artifact) -> Artifact:
    """Staff action: download and store again (after a 'missing' verification, say).

    The write stays create-only: an object still present with other bytes is kept and the
    verification keeps saying so.
    """
    Artifact.objects.filter(pk=artifact.pk).update(
        state=ArtifactState.PENDING, next_attempt_at=timezone.now(), claim_token="",
        attempts=0, last_error="",
    )
    artifact.refresh_from_db()
    transaction.on_commit(partial(_enqueue, [artifact.pk]), robust=True)
    return artifact


def artifact_set_legal_hold(*, artifact: Artifact, on: bool) -> Artifact:
    if artifact.state == ArtifactState.ARCHIVED:
        get_backend().set_legal_hold(artifact.key, artifact.version_id, on=on)
    Artifact.objects.filter(pk=artifact.pk).update(legal_hold=on)
    artifact.refresh_from_db()
    return artifact


# --- verification ----------------------------------------------------------------------------


def _hash_stored(artifact: Artifact) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in get_backend().iter_chunks(artifact.key, artifact.version_id):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def artifact_verify(*, artifact: Artifact) -> str:
    """Re-read one archived file and re-hash it; record (loudly) what is wrong."""
    if artifact.state != ArtifactState.ARCHIVED:
        return artifact.verification
    backend = get_backend()
    result, problem = Verification.OK, ""
    try:
        head = backend.head(artifact.key, artifact.version_id)
        if head is None:
            raise ObjectMissing(artifact.key)
        tolerance = timedelta(seconds=1)  # S3 keeps retention dates to the second
        if head.retain_until is None:
            if backend.retention_enforced():
                result, problem = Verification.MISMATCH, "the object has no retention"
        elif head.retain_until + tolerance < artifact.retain_until:
            result, problem = Verification.MISMATCH, (
                f"retained until {head.retain_until.isoformat()}, "
                f"expected {artifact.retain_until.isoformat()}"
            )
        sha256, size = _hash_stored(artifact)
        if sha256 != artifact.sha256 or size != artifact.size:
            result, problem = Verification.MISMATCH, (
                f"stored bytes have sha256 {sha256} / {size} bytes, "
                f"archived as {artifact.sha256} / {artifact.size}"
            )
    except ObjectMissing:
        result, problem = Verification.MISSING, "the object is not in the archive"
    except ChecksumMismatch as exc:
        result, problem = Verification.MISMATCH, str(exc)[:1000]
    Artifact.objects.filter(pk=artifact.pk).update(
        verification=result, verified_at=timezone.now(), verification_error=problem
    )
    if result != Verification.OK:
        # Loud on purpose: a fiscal file we promised to keep is damaged or gone.
        logger.error("archive verification %s: %s (artifact %s): %s",
                     result, artifact.key, artifact.pk, problem)
        if artifact.note_id:
            NoteEvent.objects.create(
                note_id=artifact.note_id, kind=NoteEvent.Kind.ARCHIVE_ERROR,
                message=f"Archived {artifact.get_kind_display()} failed verification: {result}",
                data={"artifact_id": artifact.pk, "key": artifact.key,
                      "verification": result, "problem": problem},
            )
    artifact.verification, artifact.verification_error = result, problem
    return result


def archive_verify(*, artifacts: Iterator[Artifact] | list[Artifact]) -> dict[str, int]:
    counts = {Verification.OK: 0, Verification.MISMATCH: 0, Verification.MISSING: 0, "error": 0}
    for artifact in artifacts:
        try:
            counts[artifact_verify(artifact=artifact)] += 1
        except StorageUnavailable as exc:
            logger.warning("archive verification of %s not done: %s", artifact.key, exc)
            counts["error"] += 1
    result = {str(k): v for k, v in counts.items()}
    signals.archive_verified.send_robust(sender=None, counts=result)
    return result


# --- serving ---------------------------------------------------------------------------------


@dataclass
class ServedFile:
    filename: str
    content_type: str
    url: str | None = None  # redirect here (S3 presigned)
    file: IO[bytes] | None = None  # or stream this (filesystem, or a not-yet-final note)
    size: int | None = None


def note_file_artifact(*, note: Note, name: str, attempt: int | None) -> Artifact | None:
    """The row behind ``/v2/arquivos/<note>/[tentativa-<n>/]<name>``; created if missing.

    None when the note's files are not final yet (they are then passed through, not archived).
    Raises FileNotFound when the note has no such file.
    """
    path = layout.file_path_for(
        note.upstream, name=name, attempt=attempt, base_url=base_url(note.environment)
    )
    if path is None:
        raise FileNotFound(name)
    if not note_ready_for_archive(note):
        return None
    lookup = {"tenant_id": note.tenant_id, "environment": note.environment, "source_path": path}
    artifact = Artifact.objects.filter(**lookup).first()
    if artifact is None:
        # A note settled before the archive knew it (or a row lost): schedule it now.
        with transaction.atomic():
            artifacts_schedule_for_note(note=note)
        artifact = Artifact.objects.filter(**lookup).first()
        if artifact is None:
            raise FileNotFound(name)
    return artifact


def artifact_serve(*, artifact: Artifact) -> ServedFile:
    """Archived bytes (archiving them first if needed) as a redirect or a stream."""
    if artifact.state != ArtifactState.ARCHIVED:
        artifact = artifact_fetch_now(artifact=artifact)
    backend = get_backend()
    try:
        url = backend.download_url(
            artifact.key, artifact.version_id, filename=artifact.filename,
            content_type=artifact.content_type,
        )
        if url is not None:
            return ServedFile(filename=artifact.filename, content_type=artifact.content_type,
                              url=url)
        return ServedFile(filename=artifact.filename, content_type=artifact.content_type,
                          file=backend.open(artifact.key, artifact.version_id),
                          size=artifact.size)
    except ObjectMissing:
        logger.error("archived file missing: %s (artifact %s)", artifact.key, artifact.pk)
        raise FileUnavailable(f"{artifact.key} is missing from the archive") from None
    except StorageUnavailable as exc:
        raise FileUnavailable(str(exc)) from None


def note_file_serve(*, note: Note, name: str, attempt: int | None) -> ServedFile:
    artifact = note_file_artifact(note=note, name=name, attempt=attempt)
    if artifact is not None:
        return artifact_serve(artifact=artifact)
    # Not final yet (processing, offline contingency): pass Focus's bytes through unarchived.
    path = layout.file_path_for(
        note.upstream, name=name, attempt=attempt, base_url=base_url(note.environment)
    ) or ""
    kind = layout.kind_of(name, note.doc_type, path)
    try:
        fetched = _download(environment=note.environment,
                            token=note.empresa.focus_token(note.environment), path=path,
                            kind=kind)
    except FocusNotFound:
        raise FileNotFound(name) from None
    except RETRYABLE as exc:
        raise FileUnavailable(str(exc)) from None
    return ServedFile(filename=path.rsplit("/", 1)[-1], content_type=fetched.content_type,
                      file=fetched.file, size=fetched.size)


# --- exports ---------------------------------------------------------------------------------


def _zip_members(artifacts: list[Artifact]) -> Iterator[Member]:
    backend = get_backend()
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(["arquivo", "tipo", "origem_focus", "sha256", "bytes", "situacao"])
    for artifact in artifacts:
        # Inside the ZIP: <doc_type>/<yyyy>/<mm>/<chave-or-ref>/<kind>.<ext>.
        name = "/".join(artifact.key.split("/")[3:])
        status = "arquivado"
        if artifact.state != ArtifactState.ARCHIVED:
            status = "pendente"
        else:
            chunks = backend.iter_chunks(artifact.key, artifact.version_id)
            try:
                first = next(chunks, b"")
            except (ObjectMissing, StorageUnavailable, ChecksumMismatch) as exc:
                logger.error("zip export: %s unreadable: %s", artifact.key, exc)
                status = "ilegivel"
            else:
                yield (name, timezone.localtime(artifact.archived_at or artifact.created_at),
                       partial(itertools.chain, [first], chunks))
        writer.writerow([name, artifact.kind, artifact.source_path, artifact.sha256,
                         artifact.size if artifact.size is not None else "", status])
    data = manifest.getvalue().encode()
    yield ("manifest.csv", timezone.localtime(), lambda: [data])


def empresa_month_zip(*, artifacts: list[Artifact]) -> Iterator[bytes]:
    """The month's archived files of a company as a streamed ZIP, with a manifest.csv that
    also lists what is not archived yet (an accountant must see the gaps)."""
    return zip_stream(_zip_members(artifacts))
