"""Archiving: download from Focus (real HTTP on loopback), store once, retry what fails."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import timedelta

from django.utils import timezone

from fiscal.focus import budget
from fiscal.focus.client import token_fingerprint
from fiscal.models import NoteEvent
from storage import tasks
from storage.backends import ArchiveBackend
from storage.models import Artifact, ArtifactState
from storage.scheduling import artifact_claim
from tests.conftest import Actor
from tests.storage.conftest import archive_all, artifact_for, publish_change, serve_note_files
from tests.support.sandbox import SandboxFiles


def test_every_file_is_archived_under_its_key_with_its_hash(
    actor: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend
) -> None:
    note = make_note(actor.tenant, upstream=upstream)
    hashes = serve_note_files(upstream, note)
    publish_change(note)

    assert archive_all() == {"archived": 2, "retry": 0, "skipped": 0}

    for artifact in Artifact.objects.filter(note=note):
        assert artifact.state == ArtifactState.ARCHIVED
        assert artifact.sha256 == hashes[artifact.source_path]
        assert artifact.archived_at is not None and artifact.next_attempt_at is None
        stored = archive.head(artifact.key, artifact.version_id)
        assert stored.sha256 == artifact.sha256 and stored.size == artifact.size
        assert stored.retain_until >= artifact.retain_until - timedelta(seconds=1)
        assert archive.name != "s3" or artifact.version_id
    # Downloaded with the company's Focus token for the note's environment.
    auth = {(r["auth_scheme"], r["token_sha256"]) for r in upstream.requests()}
    assert auth == {("Basic", hashlib.sha256(note.empresa.token_homologacao.encode()).hexdigest())}
    events = NoteEvent.objects.filter(note=note, kind=NoteEvent.Kind.ARCHIVED)
    assert events.count() == 2
    assert archive_all() == {"archived": 0, "retry": 0, "skipped": 0}
    assert upstream.count() == 2


def test_an_upstream_5xx_is_retried_with_backoff_and_the_note_is_unaffected(
    actor: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend
) -> None:
    note = make_note(actor.tenant, upstream=upstream)
    publish_change(note)
    before = note.__class__.objects.values().get(pk=note.pk)
    path = note.upstream["caminho_xml_nota_fiscal"]
    upstream.fail(path, "500", "500")

    assert archive_all()["retry"] == 1
    artifact = artifact_for(note)
    assert artifact.state == ArtifactState.PENDING
    assert "500" in artifact.last_error
    first_delay = artifact.next_attempt_at - timezone.now()
    assert timedelta(seconds=20) < first_delay < timedelta(seconds=40)
    assert archive_all()["archived"] == 0  # not due yet

    archive_all(now=artifact.next_attempt_at + timedelta(seconds=1))
    artifact.refresh_from_db()
    assert artifact.attempts == 2 and artifact.state == ArtifactState.PENDING
    # Backoff doubles: the second wait is longer than the first.
    assert artifact.next_attempt_at - timezone.now() > first_delay + timedelta(seconds=10)

    archive_all(now=artifact.next_attempt_at + timedelta(seconds=1))
    artifact.refresh_from_db()
    assert artifact.state == ArtifactState.ARCHIVED and artifact.attempts == 3
    assert artifact.last_error == ""
    assert note.__class__.objects.values().get(pk=note.pk) == before
    errors = NoteEvent.objects.filter(note=note, kind=NoteEvent.Kind.ARCHIVE_ERROR)
    assert errors.count() == 2
    assert errors.first().data["artifact_id"] == artifact.pk


def test_a_download_that_times_out_is_retried(
    actor: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend, settings
) -> None:
    # The client's own timeout is what is tested, so it is waited out: 0.3 s, the shortest that
    # still tells a hang from a loopback download on a loaded machine (the other file and the
    # retry download under the same timeout). The sandbox holds the hung request far longer.
    settings.FG_ARCHIVE_DOWNLOAD_TIMEOUT = 0.3
    note = make_note(actor.tenant, upstream=upstream)
    publish_change(note)
    upstream.fail(note.upstream["caminho_danfe"], "hang")

    archive_all()
    danfe = artifact_for(note, "danfe")
    assert danfe.state == ArtifactState.PENDING
    assert "FocusTimeout" in danfe.last_error
    assert artifact_for(note).state == ArtifactState.ARCHIVED  # the other file went on

    archive_all(now=danfe.next_attempt_at + timedelta(seconds=1))
    danfe.refresh_from_db()
    assert danfe.state == ArtifactState.ARCHIVED
    assert b"".join(archive.iter_chunks(danfe.key, danfe.version_id)).startswith(b"<file")


def test_a_rate_limited_download_waits_for_focus_to_allow_it(
    actor: Actor, make_note, make_empresa, upstream: SandboxFiles, settings, tmp_path
) -> None:
    settings.FG_STORAGE_BACKEND, settings.FG_ARCHIVE_DIR = "filesystem", tmp_path
    # A token of its own: the 429 is shared (through the cache) with every user of the token.
    empresa = make_empresa(actor.tenant, token_homologacao=f"limited-{uuid.uuid4().hex}")
    note = make_note(actor.tenant, empresa=empresa, upstream=upstream)
    publish_change(note)
    upstream.fail(note.upstream["caminho_danfe"], "429")
    archive_all()
    danfe = artifact_for(note, "danfe")
    wait = danfe.next_attempt_at - timezone.now()
    assert timedelta(seconds=5) < wait <= timedelta(seconds=7)  # Rate-Limit-Reset: 7
    # Every worker learns of it: the token's budget is blocked until the reset.
    fingerprint = token_fingerprint(empresa.token_homologacao)
    assert not budget.acquire(fingerprint=fingerprint, tenant_id=actor.tenant.pk,
                              urgent=True).allowed


def test_a_file_already_in_the_archive_is_not_written_twice(
    actor: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend
) -> None:
    # A worker wrote the object and died before recording it: the next attempt finds it.
    note = make_note(actor.tenant, upstream=upstream)
    hashes = serve_note_files(upstream, note)
    publish_change(note)
    artifact = artifact_for(note)
    body = upstream.body(artifact.source_path)
    archive.put(key=artifact.key, source=io.BytesIO(body), sha256=hashes[artifact.source_path],
                size=len(body), content_type="application/xml",
                retain_until=artifact.retain_until)

    archive_all()
    artifact.refresh_from_db()
    assert artifact.state == ArtifactState.ARCHIVED
    assert artifact.last_error == ""


def test_a_file_changed_upstream_keeps_the_first_archived_version(
    actor: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend
) -> None:
    note = make_note(actor.tenant, upstream=upstream)
    publish_change(note)
    artifact = artifact_for(note, "danfe")
    first = b"%PDF-1.4 first"
    archive.put(key=artifact.key, source=io.BytesIO(first), size=len(first),
                sha256=hashlib.sha256(first).hexdigest(), content_type="application/pdf",
                retain_until=artifact.retain_until)
    archive_all()
    artifact.refresh_from_db()
    assert artifact.state == ArtifactState.ARCHIVED
    assert artifact.sha256 == hashlib.sha256(first).hexdigest()
    assert "first" in artifact.last_error
    assert b"".join(archive.iter_chunks(artifact.key, artifact.version_id)) == first


def test_large_files_are_streamed_through_a_spool(
    actor: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend, settings
) -> None:
    settings.FG_ARCHIVE_SPOOL_BYTES = 64 * 1024
    note = make_note(actor.tenant, upstream=upstream)
    publish_change(note)
    danfe = artifact_for(note, "danfe")
    sha = upstream.add_generated(danfe.source_path, 3 * 1024 * 1024 + 17)
    archive_all()
    danfe.refresh_from_db()
    assert danfe.state == ArtifactState.ARCHIVED
    assert danfe.size == 3 * 1024 * 1024 + 17 and danfe.sha256 == sha


def test_files_larger_than_the_limit_are_refused(
    actor: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend, settings
) -> None:
    settings.FG_ARCHIVE_MAX_BYTES = 1000
    note = make_note(actor.tenant, upstream=upstream)
    publish_change(note)
    upstream.add_generated(note.upstream["caminho_danfe"], 5000)
    archive_all()
    danfe = artifact_for(note, "danfe")
    assert danfe.state == ArtifactState.PENDING and "more than 1000" in danfe.last_error


def test_the_task_claims_and_archives_one_row(
    actor: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend
) -> None:
    note = make_note(actor.tenant, upstream=upstream)
    publish_change(note)
    artifact = artifact_for(note)
    assert tasks.archive_artifact.apply(args=(artifact.pk, "")).get() == "archived"
    # Running it again does nothing: the row is no longer pending.
    assert tasks.archive_artifact.apply(args=(artifact.pk, "")).get() == "skipped"
    # A stale claim token (a redelivered message after the lease was taken back) is ignored.
    danfe = artifact_for(note, "danfe")
    token = artifact_claim(artifact_id=danfe.pk)
    assert tasks.archive_artifact.apply(args=(danfe.pk, "not-" + token)).get() == "skipped"
    assert tasks.archive_artifact.apply(args=(danfe.pk, token)).get() == "archived"
    assert upstream.count() == 2


def test_the_fast_path_task_archives_each_of_its_rows(
    actor: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend
) -> None:
    """The on-commit message of a note's files names them all; each is claimed in turn."""
    note = make_note(actor.tenant, upstream=upstream)
    publish_change(note)
    ids = [artifact_for(note).pk, artifact_for(note, "danfe").pk]
    assert tasks.archive_artifacts.apply(args=(ids,)).get() == ["archived", "archived"]
    # A redelivered message does nothing: the rows are no longer pending.
    assert tasks.archive_artifacts.apply(args=(ids,)).get() == ["skipped", "skipped"]
    assert upstream.count() == 2
