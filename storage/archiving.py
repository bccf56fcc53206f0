"""Archiving one file: download it from Focus, store it once, mark the row.

``artifact_archive`` (the task's service) streams the file from Focus, hashing as it goes and
spooled to disk past a small size, writes it create-only with its SHA-256 and retention, and
marks the row. Any failure reschedules the row with exponential backoff (capped; retries go on
for days): the note itself is never touched, so emission and webhooks never wait on the archive.
"""

from __future__ import annotations

import hashlib
import logging
import random
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO

from django.conf import settings
from django.utils import timezone

from core.claims import claim
from fiscal.focus.client import FocusClient, FocusRateLimited, FocusUpstreamError
from fiscal.models import NoteEvent
from storage import layout
from storage.backends import (
    ChecksumMismatch,
    ObjectExists,
    StorageUnavailable,
    StoredObject,
    get_backend,
)
from storage.models import Artifact, ArtifactState
from storage.scheduling import artifact_claim, enqueue_on_commit

logger = logging.getLogger("storage")


class DownloadRefused(Exception):
    """Focus answered with something that is not a file we keep (empty, or too large)."""


@dataclass
class Fetched:
    file: IO[bytes]  # positioned at 0; the caller closes it
    sha256: str
    size: int
    content_type: str


def download(*, environment: str, token: str, path: str, kind: str) -> Fetched:
    """Stream one Focus file into a spooled temporary file, hashing it on the way.

    Memory stays flat whatever the size: past FG_ARCHIVE_SPOOL_BYTES the bytes go to disk.
    """
    client = FocusClient(
        environment=environment, token=token, timeout=settings.FG_ARCHIVE_DOWNLOAD_TIMEOUT
    )
    limit = settings.FG_ARCHIVE_MAX_BYTES
    # File paths do not take from the token's request budget: Focus serves them as public
    # files, as the sandbox does. A 429 still blocks the token; the client records it.
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
    except BaseException:
        spool.close()
        raise
    if not upstream_type or upstream_type.startswith("application/octet-stream"):
        upstream_type = layout.content_type_for(kind, path)
    return Fetched(file=spool, sha256=digest.hexdigest(), size=size,
                   content_type=upstream_type[:100])


def _fetch(artifact: Artifact) -> Fetched:
    return download(
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


def mark_archived(
    artifact: Artifact, stored: StoredObject, *, claim_token: str | None, note_text: str = ""
) -> bool:
    now = timezone.now()
    # No token: the serving path archives a pending row whoever holds it (create-only writes
    # make the race harmless); the first to mark it wins.
    where = {"state": ArtifactState.PENDING}
    if claim_token is not None:
        where["claim_token"] = claim_token
    if not claim(
        Artifact, artifact.pk, where=where,
        state=ArtifactState.ARCHIVED, sha256=stored.sha256, size=stored.size,
        content_type=stored.content_type[:100], version_id=stored.version_id,
        archived_at=now, next_attempt_at=None, claim_token="", last_error=note_text,
    ):
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
    updated = claim(
        Artifact, artifact.pk, where={"state": ArtifactState.PENDING, "claim_token": claim_token},
        next_attempt_at=next_at, claim_token="", last_error=message,
    )
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
        stored, note_text = fetch_and_store(artifact)
    except RETRYABLE as exc:
        _reschedule(artifact, claim_token, exc)
        return "retry"
    except Exception as exc:  # a bug must not lose the row: it is retried like the rest
        logger.exception("archive %s failed unexpectedly", artifact.key)
        _reschedule(artifact, claim_token, exc)
        return "retry"
    mark_archived(artifact, stored, claim_token=claim_token, note_text=note_text)
    return "archived"


def fetch_and_store(artifact: Artifact) -> tuple[StoredObject, str]:
    """Download the file from Focus into a spooled temp file and store it; always close it."""
    fetched = _fetch(artifact)
    try:
        return _store(artifact, fetched)
    finally:
        fetched.file.close()


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
    enqueue_on_commit([artifact.pk])
    return artifact


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
