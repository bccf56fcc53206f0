"""The archive backends: the only code that touches the bucket (DESIGN.md §3).

This issue brings only what health checks need; Artifact, create-only writes and retention come
with the archive issue.
"""

from __future__ import annotations

from django.conf import settings


class StorageUnavailable(Exception):
    pass


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
