"""Exports: a company's month of archived files as one streamed ZIP."""

from __future__ import annotations

import csv
import io
import itertools
import logging
from collections.abc import Iterator
from functools import partial

from django.utils import timezone

from storage.backends import ChecksumMismatch, ObjectMissing, StorageUnavailable, get_backend
from storage.models import Artifact, ArtifactState
from storage.zipstream import Member, zip_stream

logger = logging.getLogger("storage")


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
