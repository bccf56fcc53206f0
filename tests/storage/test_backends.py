"""The archive's rules, the same on both backends: create-only, checksummed, retained."""

from __future__ import annotations

import hashlib
import io
import stat
from datetime import timedelta

import pytest
from django.utils import timezone

from storage.backends import (
    ArchiveBackend,
    ChecksumMismatch,
    FilesystemBackend,
    ObjectExists,
    ObjectLocked,
    ObjectMissing,
)

BODY = b"<nfeProc versao='4.00'>" + b"x" * 5000 + b"</nfeProc>"
SHA = hashlib.sha256(BODY).hexdigest()


def _put(backend: ArchiveBackend, key: str = "1/11222333000181/homologacao/nfe/2026/03/c/nfe.xml",
         body: bytes = BODY, sha: str = SHA, legal_hold: bool = False):
    return backend.put(
        key=key, source=io.BytesIO(body), sha256=sha, size=len(body),
        content_type="application/xml", retain_until=timezone.now() + timedelta(days=5 * 365),
        legal_hold=legal_hold,
    )


def test_objects_carry_their_checksum_and_retention(archive: ArchiveBackend, settings) -> None:
    stored = _put(archive)
    head = archive.head(stored.key, stored.version_id)
    assert head is not None
    assert head.sha256 == SHA
    assert head.size == len(BODY)
    assert head.retention_mode == settings.FG_RETENTION_MODE == "COMPLIANCE"
    assert head.retain_until is not None
    assert abs(head.retain_until - stored.retain_until) < timedelta(seconds=1)
    assert b"".join(archive.iter_chunks(stored.key, stored.version_id)) == BODY


def test_s3_objects_carry_object_lock_and_sha256_checksum(s3_bucket: str, moto_endpoint) -> None:
    from storage.backends import get_backend
    from tests.storage.conftest import s3_client

    stored = _put(get_backend())
    answer = s3_client(moto_endpoint).head_object(
        Bucket=s3_bucket, Key=stored.key, ChecksumMode="ENABLED"
    )
    assert answer["ObjectLockMode"] == "COMPLIANCE"
    assert answer["ObjectLockRetainUntilDate"] > timezone.now() + timedelta(days=4 * 365)
    assert answer["ObjectLockLegalHoldStatus"] == "OFF"
    assert hashlib.sha256(BODY).digest() == __import__("base64").b64decode(
        answer["ChecksumSHA256"]
    )
    assert answer["VersionId"] == stored.version_id


def test_a_second_write_of_the_same_key_is_refused(archive: ArchiveBackend) -> None:
    stored = _put(archive)
    other = b"<nfeProc>forged</nfeProc>"
    with pytest.raises(ObjectExists):
        _put(archive, body=other, sha=hashlib.sha256(other).hexdigest())
    assert b"".join(archive.iter_chunks(stored.key, stored.version_id)) == BODY


def test_deleting_a_retained_version_is_refused(archive: ArchiveBackend) -> None:
    stored = _put(archive)
    with pytest.raises(ObjectLocked):
        archive.delete(stored.key, stored.version_id)
    assert archive.head(stored.key, stored.version_id) is not None


def test_legal_hold_is_recorded_on_the_object(archive: ArchiveBackend) -> None:
    stored = _put(archive, legal_hold=True)
    assert archive.head(stored.key, stored.version_id).legal_hold is True
    archive.set_legal_hold(stored.key, stored.version_id, on=False)
    assert archive.head(stored.key, stored.version_id).legal_hold is False


def test_reading_an_absent_key_is_missing(archive: ArchiveBackend) -> None:
    assert archive.head("1/x/homologacao/nfe/2026/03/none/nfe.xml") is None
    with pytest.raises(ObjectMissing):
        list(archive.iter_chunks("1/x/homologacao/nfe/2026/03/none/nfe.xml"))


def test_filesystem_refuses_bytes_that_do_not_match_their_checksum(tmp_path) -> None:
    # (S3 answers BadDigest itself; moto does not check, hence filesystem only.)
    backend = FilesystemBackend(tmp_path)
    with pytest.raises(ChecksumMismatch):
        _put(backend, sha="0" * 64)
    assert backend.head("1/11222333000181/homologacao/nfe/2026/03/c/nfe.xml") is None
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_filesystem_files_are_read_only_and_expired_ones_can_go(tmp_path) -> None:
    backend = FilesystemBackend(tmp_path)
    stored = _put(backend)
    path = tmp_path.joinpath(*stored.key.split("/"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    expired = backend.put(
        key="1/x/homologacao/nfe/2020/01/old/nfe.xml", source=io.BytesIO(BODY), sha256=SHA,
        size=len(BODY), content_type="application/xml",
        retain_until=timezone.now() - timedelta(days=1),
    )
    backend.delete(expired.key)
    assert backend.head(expired.key) is None


def test_filesystem_refuses_keys_that_leave_the_archive(tmp_path) -> None:
    backend = FilesystemBackend(tmp_path / "archive")
    for key in ("../escape.xml", "1/../../escape.xml", "/abs.xml", "1/.meta/x.json"):
        with pytest.raises(ValueError):
            _put(backend, key=key)
