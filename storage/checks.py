"""``manage.py check`` (run by migrate and runserver): refuse an unprotected bucket.

In services mode the archive bucket must have versioning and Object Lock, or retention is a
promise nobody keeps. FG_S3_ALLOW_NO_OBJECT_LOCK=true overrides this for development.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from storage.backends import S3Backend, StorageUnavailable, get_backend


@register("storage")
def check_archive_bucket(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.FG_STORAGE_BACKEND != "s3" or not settings.SERVICES_MODE:
        return []
    if settings.FG_S3_ALLOW_NO_OBJECT_LOCK:
        return []
    backend = get_backend()
    assert isinstance(backend, S3Backend)
    try:
        versioning, locked = backend.protection()
    except StorageUnavailable as exc:
        return [Warning(
            f"Could not check the archive bucket {settings.FG_S3_BUCKET}: {exc}",
            hint="The archive refuses to write until the bucket is confirmed protected.",
            id="storage.W001",
        )]
    if versioning and locked:
        return []
    return [Error(
        f"The archive bucket {settings.FG_S3_BUCKET} has no "
        + ("Object Lock." if versioning else "versioning / Object Lock."),
        hint="Create the bucket with Object Lock enabled (ObjectLockEnabledForBucket), or set "
        "FG_S3_ALLOW_NO_OBJECT_LOCK=true for development.",
        id="storage.E001",
    )]
