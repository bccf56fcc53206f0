from __future__ import annotations

import itertools
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest
from django.db import transaction
from django.utils import timezone

from fiscal.changes import FiscalChange, publish
from fiscal.focus.client import reset_clients
from fiscal.models import Note
from sandbox.server import SandboxServer
from storage import scheduling
from storage.archiving import archive_run_due
from storage.backends import ArchiveBackend, get_backend
from storage.models import Artifact
from tenants.models import Empresa, Tenant
from tests.support.sandbox import SandboxFiles, reset_sandbox

AUTHORIZED_AT = datetime(2026, 3, 10, 15, 30, tzinfo=timezone.get_fixed_timezone(-180))
CHAVE = "35260311222333000181550010000000011000000013"
PREVIOUS_CHAVE = "35260311222333000181550010000000021000000029"


class SentTasks:
    """Stands in for the Celery app the archive sends its tasks through (by name): records
    ``(artifact_id, claim_token, queue)`` per row handed over (a message of several rows, the
    fast path's, records each of them, claim token ""), and each message in ``messages``; or
    raises ``fail`` (broker down)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.messages: list[tuple[str, tuple]] = []
        self.fail: BaseException | None = None
        self._name = ""

    def signature(self, name: str) -> SentTasks:
        assert name in (scheduling.ARCHIVE_TASK, scheduling.ARCHIVE_MANY_TASK)
        self._name = name
        return self

    def apply_async(self, args: tuple, queue: str, **options: Any) -> None:
        if self.fail is not None:
            raise self.fail
        self.messages.append((self._name, args))
        if self._name == scheduling.ARCHIVE_MANY_TASK:
            self.calls.extend((artifact_id, "", queue) for artifact_id in args[0])
        else:
            self.calls.append((*args, queue))


@pytest.fixture
def sent_tasks(monkeypatch) -> SentTasks:
    sent = SentTasks()
    monkeypatch.setattr(scheduling, "current_app", sent)
    return sent


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server on loopback, one per session (each test gets its own bucket)."""
    from moto.server import ThreadedMotoServer

    saved = {name: os.environ.get(name) for name in
             ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def s3_client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def s3_bucket(moto_endpoint: str, settings) -> str:
    """A fresh bucket with Object Lock (and so versioning), as production has."""
    name = f"fg-archive-{uuid.uuid4().hex[:12]}"
    s3_client(moto_endpoint).create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    settings.FG_STORAGE_BACKEND = "s3"
    settings.FG_S3_BUCKET = name
    settings.FG_S3_ENDPOINT_URL = moto_endpoint
    settings.FG_S3_REGION = "us-east-1"
    return name


@pytest.fixture(params=["filesystem", "s3"])
def archive(request, settings, tmp_path) -> ArchiveBackend:
    """Every behaviour test runs against both backends."""
    if request.param == "s3":
        request.getfixturevalue("s3_bucket")
    else:
        settings.FG_STORAGE_BACKEND = "filesystem"
        settings.FG_ARCHIVE_DIR = tmp_path / "archive"
    return get_backend()


@pytest.fixture(autouse=True)
def _only_the_archive_listens(settings) -> None:
    # These tests are about the archive's subscriber; the others have their own suites.
    settings.FG_CHANGE_SUBSCRIBERS = ["storage.scheduling.on_fiscal_change"]


@pytest.fixture
def upstream(settings, gateway_sandbox: SandboxServer) -> Iterator[SandboxFiles]:
    """Focus's file host: the session's sandbox (tests/conftest.py), reset, with no file."""
    reset_sandbox(gateway_sandbox)
    settings.FOCUS_URL_HOMOLOGACAO = gateway_sandbox.url
    settings.FOCUS_URL_PRODUCAO = gateway_sandbox.url
    # Far above a loopback download on a loaded machine: only the timeout test waits for it,
    # and it sets its own.
    settings.FG_ARCHIVE_DOWNLOAD_TIMEOUT = 10.0
    reset_clients()
    files = SandboxFiles(gateway_sandbox)
    try:
        yield files
    finally:
        files.close()
        reset_clients()


_refs = itertools.count(1)


def nfe_paths(cnpj: str, chave: str) -> dict[str, str]:
    return {
        "caminho_xml_nota_fiscal": f"/arquivos_development/{cnpj}/202603/XMLs/{chave}-nfe.xml",
        "caminho_danfe": f"/arquivos_development/{cnpj}/202603/DANFEs/{chave}.pdf",
    }


@pytest.fixture
def make_note(make_empresa) -> Callable[..., Note]:
    def build(tenant: Tenant, *, empresa: Empresa | None = None,
              upstream: SandboxFiles | None = None, status: str = "autorizado",
              chave: str = CHAVE, extra: dict | None = None, **fields: Any) -> Note:
        empresa = empresa or Empresa.objects.filter(tenant=tenant).first() or make_empresa(tenant)
        body: dict[str, Any] = {"status": status, "chave_nfe": f"NFe{chave}"}
        if status != "processando_autorizacao":
            body.update(nfe_paths(empresa.documento, chave))
        body.update(extra or {})
        n = next(_refs)
        note = Note.objects.create(
            tenant=tenant, empresa=empresa, environment="homologacao", doc_type="nfe",
            ref=f"ref-{n}", upstream_ref=f"up-{uuid.uuid4().hex}", payload={}, status=status,
            authorized_at=AUTHORIZED_AT if status != "processando_autorizacao" else None,
            chave=chave, upstream=body, **fields,
        )
        if upstream is not None:
            serve_note_files(upstream, note)
        return note

    return build


def serve_note_files(upstream: SandboxFiles, note: Note) -> dict[str, str]:
    """Host every file the note names on the sandbox; {path: sha256}."""
    from storage import layout

    hashes = {}
    for ref in layout.note_files(note.upstream):
        body = f"<file path='{ref.path}' note='{note.pk}'/>".encode()
        hashes[ref.path] = upstream.add(ref.path, body, "application/xml")
    return hashes


def publish_change(note: Note, change_type: str = "note.authorized", **kwargs: Any) -> None:
    with transaction.atomic():
        publish(FiscalChange(type=change_type, tenant=note.tenant, empresa=note.empresa,
                             data={}, note=note, **kwargs))


def archive_all(**kwargs: Any) -> dict[str, int]:
    return archive_run_due(**kwargs)


def artifact_for(note: Note, field: str = "xml_nota_fiscal") -> Artifact:
    return Artifact.objects.get(note=note, field=field, attempt=None)
