"""Verification: re-read archived files, re-hash them, and say loudly what is wrong."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone

from fiscal.models import NoteEvent
from storage import signals
from storage.backends import ChecksumMismatch, ObjectMissing, StorageUnavailable, get_backend
from storage.models import Artifact, ArtifactState, Verification

logger = logging.getLogger("storage")


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
