"""Verification finds damaged and missing files loudly; backfill and the bucket check."""

from __future__ import annotations

import io
import os
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.checks import Error
from django.core.management import call_command
from django.core.management.base import CommandError

from fiscal.models import NoteEvent
from storage import tasks
from storage.backends import ArchiveBackend, StorageMisconfigured, get_backend
from storage.checks import check_archive_bucket
from storage.models import Artifact, ArtifactState, Verification
from tests.conftest import Actor
from tests.storage.conftest import (
    SentTasks,
    archive_all,
    artifact_for,
    publish_change,
    s3_client,
)
from tests.support.sandbox import SandboxFiles


def _moto_bucket(name: str):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[name]


def corrupt(archive: ArchiveBackend, artifact: Artifact) -> None:
    """Bit rot under the archive: the stored bytes change behind the storage's back."""
    if archive.name == "s3":
        bucket = _moto_bucket(archive.bucket)  # type: ignore[attr-defined]
        stored = next(k for k in bucket.keys.getlist(artifact.key)
                      if k.version_id == artifact.version_id)
        stored.value = b"<nfeProc>tampered</nfeProc>"
        return
    path = archive.root.joinpath(*artifact.key.split("/"))  # type: ignore[attr-defined]
    os.chmod(path, 0o644)
    path.write_bytes(b"<nfeProc>tampered</nfeProc>")


def remove(archive: ArchiveBackend, artifact: Artifact) -> None:
    if archive.name == "s3":
        _moto_bucket(archive.bucket).keys.pop(artifact.key)  # type: ignore[attr-defined]
        return
    archive.root.joinpath(*artifact.key.split("/")).unlink()  # type: ignore[attr-defined]


@pytest.fixture
def archived_note(actor: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend):
    note = make_note(actor.tenant, upstream=upstream)
    publish_change(note)
    archive_all()
    return note


def test_an_intact_archive_verifies_ok(archived_note, archive: ArchiveBackend) -> None:
    counts = tasks.archive_verify_sample.apply().get()
    assert counts == {"ok": 2, "mismatch": 0, "missing": 0, "error": 0}
    assert all(a.verified_at and a.verification == Verification.OK
               for a in Artifact.objects.all())


def test_a_corrupted_object_is_detected(archived_note, archive: ArchiveBackend, caplog) -> None:
    xml = artifact_for(archived_note)
    corrupt(archive, xml)
    counts = tasks.archive_verify_sample.apply().get()
    assert counts["mismatch"] == 1 and counts["ok"] == 1
    xml.refresh_from_db()
    assert xml.verification == Verification.MISMATCH
    assert xml.verification_error
    event = NoteEvent.objects.get(note=archived_note, kind=NoteEvent.Kind.ARCHIVE_ERROR)
    assert event.data["verification"] == "mismatch"
    assert any(r.levelname == "ERROR" and xml.key in r.getMessage() for r in caplog.records)


def test_a_missing_object_is_detected(archived_note, archive: ArchiveBackend) -> None:
    danfe = artifact_for(archived_note, "danfe")
    remove(archive, danfe)
    with pytest.raises(CommandError, match="missing 1"):
        call_command("verify_archive", "--all", stdout=io.StringIO())
    danfe.refresh_from_db()
    assert danfe.verification == Verification.MISSING


def test_a_shortened_retention_is_a_mismatch(archived_note, archive: ArchiveBackend) -> None:
    xml = artifact_for(archived_note)
    Artifact.objects.filter(pk=xml.pk).update(retain_until=xml.retain_until + timedelta(days=30))
    with pytest.raises(CommandError, match="mismatch 1"):
        call_command("verify_archive", "--all", stdout=io.StringIO())
    xml.refresh_from_db()
    assert "retained until" in xml.verification_error


def test_the_sample_rotates_through_the_least_recently_verified(
    archived_note, archive: ArchiveBackend, settings
) -> None:
    settings.FG_ARCHIVE_VERIFY_SAMPLE = 1
    tasks.archive_verify_sample.apply()
    tasks.archive_verify_sample.apply()
    assert Artifact.objects.filter(verified_at__isnull=False).count() == 2


def test_backfill_archives_existing_notes_with_a_progress_bar(
    actor: Actor, other: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend
) -> None:
    notes = [make_note(actor.tenant, upstream=upstream, chave=f"3526{i:040d}") for i in range(3)]
    foreign = make_note(other.tenant, upstream=upstream, chave="3526" + "9" * 40)
    out = io.StringIO()
    call_command("archive_backfill", "--tenant", str(actor.tenant.pk), "--now", stdout=out)
    assert "6 file(s) newly scheduled" in out.getvalue()
    assert "archived 6" in out.getvalue()
    assert "[##############################] 6/6" in out.getvalue()
    assert Artifact.objects.filter(note__in=notes, state=ArtifactState.ARCHIVED).count() == 6
    assert not Artifact.objects.filter(note=foreign).exists()
    out = io.StringIO()
    call_command("archive_backfill", stdout=out)  # idempotent; now the other tenant too
    assert "2 file(s) newly scheduled" in out.getvalue()


def test_services_mode_refuses_a_bucket_without_object_lock(
    moto_endpoint: str, settings, actor: Actor, make_note, upstream: SandboxFiles
) -> None:
    s3_client(moto_endpoint).create_bucket(Bucket="fg-unlocked-bucket")
    settings.FG_STORAGE_BACKEND, settings.FG_S3_BUCKET = "s3", "fg-unlocked-bucket"
    settings.FG_S3_ENDPOINT_URL, settings.SERVICES_MODE = moto_endpoint, True
    settings.FG_S3_ALLOW_NO_OBJECT_LOCK = False
    [error] = check_archive_bucket()
    assert isinstance(error, Error) and error.id == "storage.E001"
    note = make_note(actor.tenant, upstream=upstream)
    publish_change(note)
    assert archive_all()["retry"] == 2
    assert StorageMisconfigured.__name__ in artifact_for(note).last_error

    settings.FG_S3_ALLOW_NO_OBJECT_LOCK = True  # development override
    assert check_archive_bucket() == []
    later = artifact_for(note).next_attempt_at + timedelta(hours=1)
    assert archive_all(now=later)["archived"] == 2
    assert get_backend().head(artifact_for(note).key).retain_until is None


def test_a_locked_bucket_passes_the_check(s3_bucket: str, settings) -> None:
    settings.SERVICES_MODE = True
    assert check_archive_bucket() == []


def test_admin_finds_files_and_reverifies_and_rearchives(
    archived_note, archive: ArchiveBackend, client, django_capture_on_commit_callbacks,
    sent_tasks: SentTasks
) -> None:
    User.objects.create_superuser("staff", "staff@example.com", "pw-for-tests-only")
    client.login(username="staff", password="pw-for-tests-only")
    xml = artifact_for(archived_note)
    page = client.get("/admin/storage/artifact/", {"q": archived_note.chave})
    assert page.status_code == 200 and xml.key in page.content.decode()
    filtered = client.get("/admin/storage/artifact/", {"verification__exact": "mismatch"})
    assert xml.key not in filtered.content.decode()

    corrupt(archive, xml)
    client.post("/admin/storage/artifact/", {"action": "reverify", "_selected_action": [xml.pk]})
    xml.refresh_from_db()
    assert xml.verification == Verification.MISMATCH

    enqueued = sent_tasks.calls
    danfe = artifact_for(archived_note, "danfe")
    remove(archive, danfe)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/storage/artifact/",
                    {"action": "rearchive", "_selected_action": [danfe.pk]})
    danfe.refresh_from_db()
    assert danfe.state == ArtifactState.PENDING and enqueued == [(danfe.pk, "", "archive")]
    assert tasks.archive_artifact.apply(args=(danfe.pk, "")).get() == "archived"
    tasks.archive_verify_sample.apply()
    danfe.refresh_from_db()
    assert danfe.verification == Verification.OK
