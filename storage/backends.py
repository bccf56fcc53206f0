"""The archive backends: the only code that touches the bucket (DESIGN.md §3).

Two backends with one interface:

- ``S3Backend`` (services mode): django-storages' ``S3Storage`` holds the connection settings
  and signs the short-lived download URLs; the writes use its boto3 client directly, because
  django-storages has no create-only write and no per-object retention. Every object is written
  with ``If-None-Match: *`` (create-only), its SHA-256 (``ChecksumSHA256``, checked by S3 and
  compared with the answer) and an Object Lock retention (mode and date from the caller).
- ``FilesystemBackend`` (the embedded default): the same rules on a folder. Create-only is a
  hard link of a finished temporary file (``link`` fails if the name exists), the SHA-256 is
  checked while copying, files are made read-only, and the retention lives in a sidecar under
  ``.meta/`` that ``delete`` honours.

Errors are translated here: nothing above this module sees a botocore exception.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger("storage.backends")

CHUNK_SIZE = 256 * 1024


class StorageUnavailable(Exception):
    """The archive could not be reached or answered an error: try again later."""


class StorageMisconfigured(StorageUnavailable):
    """The bucket does not protect what is written to it (no versioning / Object Lock)."""


class ObjectExists(Exception):
    """Create-only: the key is already in the archive."""


class ObjectLocked(Exception):
    """The object is under retention or legal hold: it cannot be deleted."""


class ObjectMissing(Exception):
    """No such object (or version) in the archive."""


class ChecksumMismatch(Exception):
    """The bytes do not have the SHA-256 they were announced with."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str  # hex
    size: int
    version_id: str
    content_type: str
    retain_until: datetime | None
    retention_mode: str
    legal_hold: bool


@dataclass(frozen=True)
class Upload:
    """What a ``put`` announces about the bytes it is about to store."""

    key: str
    sha256: str  # hex
    size: int
    content_type: str
    retain_until: datetime
    legal_hold: bool


def _b64(sha256_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


def _hex(sha256_b64: str) -> str:
    return base64.b64decode(sha256_b64).hex()


class ArchiveBackend(ABC):
    """What every archive backend does; S3 and the filesystem implement it alike."""

    name = ""

    def put(
        self,
        *,
        key: str,
        source: IO[bytes],
        sha256: str,
        size: int,
        content_type: str,
        retain_until: datetime,
        legal_hold: bool = False,
    ) -> StoredObject:
        """Store ``source`` under ``key`` once. Raises ObjectExists, ChecksumMismatch."""
        upload = Upload(
            key=key, sha256=sha256, size=size, content_type=content_type,
            retain_until=retain_until, legal_hold=legal_hold,
        )
        return self._put(source, upload)

    @abstractmethod
    def _put(self, source: IO[bytes], upload: Upload) -> StoredObject:
        """``put`` once its keywords are gathered: the backends share one signature."""

    @abstractmethod
    def head(self, key: str, version_id: str = "") -> StoredObject | None:
        ...

    @abstractmethod
    def iter_chunks(self, key: str, version_id: str = "") -> Iterator[bytes]:
        """The stored bytes, streamed. Raises ObjectMissing."""

    @abstractmethod
    def delete(self, key: str, version_id: str = "") -> None:
        """Remove one object version. Raises ObjectLocked while it is retained."""

    @abstractmethod
    def set_legal_hold(self, key: str, version_id: str = "", *, on: bool) -> None:
        ...

    def download_url(
        self, key: str, version_id: str = "", *, filename: str, content_type: str
    ) -> str | None:
        """A short-lived URL to hand the client, or None when the gateway streams the bytes."""
        return None

    def retention_enforced(self) -> bool:
        """Whether objects written now carry a retention the store itself enforces."""
        return True

    @abstractmethod
    def open(self, key: str, version_id: str = "") -> IO[bytes]:
        ...


# --- filesystem ------------------------------------------------------------------------------


class FilesystemBackend(ArchiveBackend):
    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(not part or part.startswith(".") for part in parts):
            raise ValueError(f"invalid archive key {key!r}")
        return self.root.joinpath(*parts)

    def _meta_path(self, key: str) -> Path:
        return self.root.joinpath(".meta", *key.split("/")).with_name(
            key.rsplit("/", 1)[-1] + ".json"
        )

    def _put(self, source: IO[bytes], upload: Upload) -> StoredObject:
        key = upload.key
        target = self._path(key)
        if target.exists():
            raise ObjectExists(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        except OSError as exc:
            raise StorageUnavailable(f"archive directory {target.parent}: {exc}") from exc
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            written = 0
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK_SIZE):
                    digest.update(chunk)
                    written += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != upload.sha256 or written != upload.size:
                raise ChecksumMismatch(
                    f"{key}: got sha256 {digest.hexdigest()} / {written} bytes, "
                    f"expected {upload.sha256} / {upload.size}"
                )
            tmp.chmod(0o444)
            try:
                # link() refuses an existing name: the create-only guard, atomic on POSIX.
                os.link(tmp, target)
            except FileExistsError:
                raise ObjectExists(key) from None
        except OSError as exc:
            raise StorageUnavailable(f"archive write {key}: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        meta = {
            "sha256": upload.sha256, "size": upload.size, "content_type": upload.content_type,
            "retain_until": upload.retain_until.astimezone(UTC).isoformat(),
            "retention_mode": settings.FG_RETENTION_MODE, "legal_hold": upload.legal_hold,
            "stored_at": timezone.now().astimezone(UTC).isoformat(),
        }
        self._write_meta(key, meta)
        return self._stored(key, meta, upload.size)

    def _write_meta(self, key: str, meta: dict[str, Any]) -> None:
        path = self._meta_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(meta, sort_keys=True))
        tmp.chmod(0o444)
        os.replace(tmp, path)  # the directory's permission, not the old file's, allows this

    def _read_meta(self, key: str) -> dict[str, Any]:
        try:
            return json.loads(self._meta_path(key).read_text())
        except (OSError, ValueError):
            return {}

    def _stored(self, key: str, meta: dict[str, Any], size: int) -> StoredObject:
        until = meta.get("retain_until")
        return StoredObject(
            key=key, sha256=meta.get("sha256", ""), size=size, version_id="",
            content_type=meta.get("content_type", ""),
            retain_until=datetime.fromisoformat(until) if until else None,
            retention_mode=meta.get("retention_mode", ""),
            legal_hold=bool(meta.get("legal_hold")),
        )

    def head(self, key: str, version_id: str = "") -> StoredObject | None:
        try:
            size = self._path(key).stat().st_size
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageUnavailable(f"archive read {key}: {exc}") from exc
        return self._stored(key, self._read_meta(key), size)

    def open(self, key: str, version_id: str = "") -> IO[bytes]:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        except OSError as exc:
            raise StorageUnavailable(f"archive read {key}: {exc}") from exc

    def iter_chunks(self, key: str, version_id: str = "") -> Iterator[bytes]:
        with self.open(key, version_id) as handle:
            while chunk := handle.read(CHUNK_SIZE):
                yield chunk

    def delete(self, key: str, version_id: str = "") -> None:
        stored = self.head(key)
        if stored is None:
            raise ObjectMissing(key)
        if stored.legal_hold or (stored.retain_until and stored.retain_until > timezone.now()):
            raise ObjectLocked(f"{key} is retained until {stored.retain_until}")
        self._path(key).unlink()
        self._meta_path(key).unlink(missing_ok=True)

    def set_legal_hold(self, key: str, version_id: str = "", *, on: bool) -> None:
        if self.head(key) is None:
            raise ObjectMissing(key)
        meta = self._read_meta(key)
        meta["legal_hold"] = on
        self._write_meta(key, meta)


# --- S3 --------------------------------------------------------------------------------------


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _status(exc: Exception) -> int:
    response = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


_MISSING_CODES = {"NoSuchKey", "NoSuchVersion", "404", "NotFound"}


class S3Backend(ArchiveBackend):
    name = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        url_expires: int,
        retention_mode: str,
        require_lock: bool,
    ) -> None:
        from botocore.config import Config
        from storages.backends.s3 import S3Storage

        self.bucket = bucket
        self.retention_mode = retention_mode
        self.require_lock = require_lock
        self.storage = S3Storage(
            bucket_name=bucket,
            endpoint_url=endpoint_url,
            region_name=region,
            querystring_expire=url_expires,
            file_overwrite=False,
            client_config=Config(
                # SigV4 for presigned URLs too (botocore would otherwise sign them with V2,
                # which newer regions refuse), so X-Amz-Expires bounds their lifetime.
                signature_version="s3v4",
                connect_timeout=settings.FG_S3_CONNECT_TIMEOUT,
                read_timeout=settings.FG_S3_READ_TIMEOUT,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )
        self._lock_checked: bool | None = None
        self._guard = threading.Lock()

    @property
    def client(self) -> Any:
        # django-storages keeps one boto3 resource per thread: boto3 sessions are not
        # thread-safe, clients are.
        return self.storage.connection.meta.client

    def _call(self, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = _error_code(exc)
            key = kwargs.get("Key", "")
            if code in {"PreconditionFailed", "ConditionalRequestConflict"}:
                raise ObjectExists(key) from None
            if code in _MISSING_CODES or _status(exc) == 404:
                raise ObjectMissing(f"{key} {kwargs.get('VersionId', '')}".strip()) from None
            if code in {"AccessDenied", "InvalidRequest"} and operation == "delete_object":
                raise ObjectLocked(f"{key}: {exc}") from None
            if code in {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"}:
                raise ChecksumMismatch(f"{key}: {exc}") from None
            raise StorageUnavailable(f"s3 {operation} {key}: {exc}") from None
        except BotoCoreError as exc:
            raise StorageUnavailable(f"s3 {operation}: {exc}") from None

    def protection(self) -> tuple[bool, bool]:
        """(versioning enabled, Object Lock enabled) of the bucket."""
        versioning = self._call("get_bucket_versioning").get("Status") == "Enabled"
        try:
            config = self._call("get_object_lock_configuration")
        except ObjectMissing:  # ObjectLockConfigurationNotFoundError is a 404
            return versioning, False
        enabled = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
        return versioning, enabled

    def _object_lock(self) -> bool:
        """Whether to send retention; refuse to write to an unprotected bucket when required."""
        with self._guard:
            if self._lock_checked is None:
                versioning, locked = self.protection()
                if not (versioning and locked):
                    message = (
                        f"bucket {self.bucket} has no "
                        + ("Object Lock" if versioning else "versioning / Object Lock")
                    )
                    if self.require_lock:
                        raise StorageMisconfigured(
                            message + ": refusing to archive (FG_S3_ALLOW_NO_OBJECT_LOCK=true "
                            "overrides this for development)"
                        )
                    logger.warning("%s: files are written without retention", message)
                self._lock_checked = versioning and locked
            return self._lock_checked

    def retention_enforced(self) -> bool:
        return self._object_lock()

    def _put(self, source: IO[bytes], upload: Upload) -> StoredObject:
        checksum = _b64(upload.sha256)
        params: dict[str, Any] = {
            "Key": upload.key,
            "Body": source,
            "ContentLength": upload.size,
            "ContentType": upload.content_type,
            "ChecksumAlgorithm": "SHA256",
            "ChecksumSHA256": checksum,
            # Create-only: S3 answers 412 if the key exists (a second write never replaces).
            "IfNoneMatch": "*",
            "Metadata": {"sha256": upload.sha256},
        }
        if self._object_lock():
            params["ObjectLockMode"] = self.retention_mode
            params["ObjectLockRetainUntilDate"] = upload.retain_until
            params["ObjectLockLegalHoldStatus"] = "ON" if upload.legal_hold else "OFF"
        answer = self._call("put_object", **params)
        # S3 checks the checksum itself (BadDigest); the echo proves it was the one we sent.
        if answer.get("ChecksumSHA256") and answer["ChecksumSHA256"] != checksum:
            raise ChecksumMismatch(f"{upload.key}: S3 stored checksum {answer['ChecksumSHA256']}")
        return StoredObject(
            key=upload.key, sha256=upload.sha256, size=upload.size,
            version_id=answer.get("VersionId") or "", content_type=upload.content_type,
            retain_until=upload.retain_until if "ObjectLockMode" in params else None,
            retention_mode=params.get("ObjectLockMode", ""), legal_hold=upload.legal_hold,
        )

    def _version(self, version_id: str) -> dict[str, str]:
        return {"VersionId": version_id} if version_id else {}

    def head(self, key: str, version_id: str = "") -> StoredObject | None:
        try:
            answer = self._call(
                "head_object", Key=key, ChecksumMode="ENABLED", **self._version(version_id)
            )
        except ObjectMissing:
            return None
        sha256 = (answer.get("Metadata") or {}).get("sha256", "")
        if not sha256 and answer.get("ChecksumSHA256"):
            sha256 = _hex(answer["ChecksumSHA256"].split("-")[0])
        return StoredObject(
            key=key, sha256=sha256, size=int(answer.get("ContentLength") or 0),
            version_id=answer.get("VersionId") or "",
            content_type=answer.get("ContentType", ""),
            retain_until=answer.get("ObjectLockRetainUntilDate"),
            retention_mode=answer.get("ObjectLockMode", ""),
            legal_hold=answer.get("ObjectLockLegalHoldStatus") == "ON",
        )

    def open(self, key: str, version_id: str = "") -> IO[bytes]:
        answer = self._call("get_object", Key=key, **self._version(version_id))
        return answer["Body"]

    def iter_chunks(self, key: str, version_id: str = "") -> Iterator[bytes]:
        from botocore.exceptions import BotoCoreError, FlexibleChecksumError

        body = self.open(key, version_id)
        try:
            yield from body.iter_chunks(CHUNK_SIZE)
        except FlexibleChecksumError as exc:
            # botocore validates the stored checksum against the bytes it received.
            raise ChecksumMismatch(f"{key}: {exc}") from None
        except BotoCoreError as exc:
            raise StorageUnavailable(f"s3 read {key}: {exc}") from None
        finally:
            body.close()

    def delete(self, key: str, version_id: str = "") -> None:
        # Without a version id S3 would only add a delete marker over the retained version.
        if not version_id:
            stored = self.head(key)
            if stored is None:
                raise ObjectMissing(key)
            version_id = stored.version_id
        self._call("delete_object", Key=key, VersionId=version_id)

    def set_legal_hold(self, key: str, version_id: str = "", *, on: bool) -> None:
        self._call(
            "put_object_legal_hold", Key=key, LegalHold={"Status": "ON" if on else "OFF"},
            **self._version(version_id),
        )

    def download_url(
        self, key: str, version_id: str = "", *, filename: str, content_type: str
    ) -> str | None:
        parameters = {
            "ResponseContentType": content_type or "application/octet-stream",
            "ResponseContentDisposition": f'inline; filename="{filename}"',
            **self._version(version_id),
        }
        return self.storage.url(key, parameters=parameters)


# --- the configured backend ------------------------------------------------------------------

_cache: dict[tuple[Any, ...], ArchiveBackend] = {}
_cache_lock = threading.Lock()


def _config() -> tuple[Any, ...]:
    return (
        settings.FG_STORAGE_BACKEND, str(settings.FG_ARCHIVE_DIR), settings.FG_S3_BUCKET,
        settings.FG_S3_ENDPOINT_URL, settings.FG_S3_REGION, settings.FG_ARCHIVE_URL_EXPIRES,
        settings.FG_RETENTION_MODE, settings.SERVICES_MODE, settings.FG_S3_ALLOW_NO_OBJECT_LOCK,
    )


def get_backend() -> ArchiveBackend:
    """The archive the settings name; one instance per configuration (tests change it)."""
    config = _config()
    with _cache_lock:
        backend = _cache.get(config)
        if backend is None:
            if settings.FG_STORAGE_BACKEND == "s3":
                backend = S3Backend(
                    bucket=settings.FG_S3_BUCKET,
                    endpoint_url=settings.FG_S3_ENDPOINT_URL,
                    region=settings.FG_S3_REGION,
                    url_expires=settings.FG_ARCHIVE_URL_EXPIRES,
                    retention_mode=settings.FG_RETENTION_MODE,
                    require_lock=settings.SERVICES_MODE
                    and not settings.FG_S3_ALLOW_NO_OBJECT_LOCK,
                )
            else:
                backend = FilesystemBackend(settings.FG_ARCHIVE_DIR)
            _cache.clear()
            _cache[config] = backend
        return backend


def archive_check() -> str:
    """Raise StorageUnavailable unless the configured archive can be reached; say which one."""
    if settings.FG_STORAGE_BACKEND == "s3":
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        timeout = settings.FG_READYZ_TIMEOUT
        client = boto3.client(
            "s3",
            endpoint_url=settings.FG_S3_ENDPOINT_URL,
            region_name=settings.FG_S3_REGION,
            config=Config(
                connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}
            ),
        )
        try:
            client.head_bucket(Bucket=settings.FG_S3_BUCKET)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"s3 bucket {settings.FG_S3_BUCKET}: {exc}") from exc
        return f"s3://{settings.FG_S3_BUCKET}"
    root = settings.FG_ARCHIVE_DIR
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".readyz"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise StorageUnavailable(f"archive directory {root}: {exc}") from exc
    return "filesystem"
