"""Serving our ``caminho_*`` paths: the archived bytes, or archived on the way.

A GET on one of our file paths serves the archived bytes (a presigned redirect or a stream);
a row not archived yet is archived inside the request; a note whose files are not final yet
(processing, offline contingency) has Focus's bytes passed through, unarchived.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import IO

from django.db import transaction

from fiscal.focus.client import FocusNotFound, base_url
from fiscal.models import Note
from storage import layout
from storage.archiving import RETRYABLE, download, fetch_and_store, mark_archived
from storage.backends import ObjectMissing, StorageUnavailable, get_backend
from storage.models import Artifact, ArtifactState
from storage.scheduling import artifacts_schedule_for_note, note_ready_for_archive

logger = logging.getLogger("storage")


class FileUnavailable(Exception):
    """The file is not archived yet and Focus could not give it now: try again later."""


class FileNotFound(Exception):
    """Neither the archive nor Focus has this file."""


@dataclass
class ServedFile:
    filename: str
    content_type: str
    url: str | None = None  # redirect here (S3 presigned)
    file: IO[bytes] | None = None  # or stream this (filesystem, or a not-yet-final note)
    size: int | None = None


def artifact_fetch_now(*, artifact: Artifact) -> Artifact:
    """Archive a pending row inside a request (serving path). Raises FileNotFound /
    FileUnavailable; the row's own schedule is left as it is on failure."""
    try:
        stored, note_text = fetch_and_store(artifact)
    except FocusNotFound:
        raise FileNotFound(artifact.source_path) from None
    except RETRYABLE as exc:
        raise FileUnavailable(str(exc)) from None
    mark_archived(artifact, stored, claim_token=None, note_text=note_text)
    artifact.refresh_from_db()
    return artifact


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
        fetched = download(environment=note.environment,
                            token=note.empresa.focus_token(note.environment), path=path,
                            kind=kind)
    except FocusNotFound:
        raise FileNotFound(name) from None
    except RETRYABLE as exc:
        raise FileUnavailable(str(exc)) from None
    return ServedFile(filename=path.rsplit("/", 1)[-1], content_type=fetched.content_type,
                      file=fetched.file, size=fetched.size)
