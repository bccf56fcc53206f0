"""Serving: our caminho_* paths, the native artifact API and the monthly ZIP, tenant-scoped."""

from __future__ import annotations

import csv
import io
import zipfile

import httpx
import pytest
from rest_framework.test import APIClient

from fiscal.render import note_consulta
from storage.backends import ArchiveBackend
from storage.models import Artifact, ArtifactState
from tests.conftest import Actor
from tests.storage.conftest import (
    CHAVE,
    PREVIOUS_CHAVE,
    archive_all,
    artifact_for,
    publish_change,
    serve_note_files,
)
from tests.support.file_links import link_target
from tests.support.sandbox import SandboxFiles


def _body(response) -> bytes:
    """The file's bytes: followed to the archive (S3 redirect) or streamed by us."""
    if response.status_code == 302:
        assert response["Cache-Control"] == "private, no-store"
        fetched = httpx.get(response["Location"])
        assert fetched.status_code == 200
        return fetched.content
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def test_the_facade_paths_serve_the_archived_bytes(
    actor: Actor, other: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend
) -> None:
    note = make_note(actor.tenant, upstream=upstream)
    serve_note_files(upstream, note)
    publish_change(note)
    archive_all()
    requests_before = upstream.count()

    consulta = note_consulta(note)
    for field in ("caminho_xml_nota_fiscal", "caminho_danfe"):
        path = consulta[field]
        assert link_target(path)[0] == note.pk
        response = actor.client.get(path)
        assert response.status_code == (302 if archive.name == "s3" else 200)
        expected = upstream.body(note.upstream[field])
        assert _body(response) == expected
        # Another tenant's key on the keyed path: Focus's 404, nothing revealed.
        denied = other.client.get(f"/v2/arquivos/{note.pk}/{field.removeprefix('caminho_')}")
        assert denied.status_code == 404
        assert denied.json()["codigo"] == "nao_encontrado"
    assert upstream.count() == requests_before  # served from the archive, not from Focus


def test_s3_downloads_redirect_to_a_short_lived_presigned_url(
    actor: Actor, make_note, upstream: SandboxFiles, s3_bucket: str, settings
) -> None:
    settings.FG_ARCHIVE_URL_EXPIRES = 45
    note = make_note(actor.tenant, upstream=upstream)
    publish_change(note)
    archive_all()
    response = actor.client.get(f"/v2/arquivos/{note.pk}/xml_nota_fiscal")
    location = response["Location"]
    assert response.status_code == 302
    assert f"/{s3_bucket}/" in location or location.split("//", 1)[1].startswith(s3_bucket)
    assert "X-Amz-Expires=45" in location and "X-Amz-Signature=" in location
    assert "versionId=" in location


def test_unknown_files_and_notes_are_not_found(
    actor: Actor, other: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend
) -> None:
    note = make_note(actor.tenant, upstream=upstream)
    for path in (f"/v2/arquivos/{note.pk}/xml_cancelamento",  # not cancelled: no such file
                 f"/v2/arquivos/{note.pk}/tentativa-0/xml_nota_fiscal",
                 f"/v2/arquivos/{note.pk + 1000}/xml_nota_fiscal",
                 f"/v2/arquivos/{note.pk}/DANFE"):
        response = actor.client.get(path)
        assert response.status_code == 404, path
        assert response.json()["codigo"] == "nao_encontrado"
    assert other.client.get(f"/v2/arquivos/{note.pk}/danfe").status_code == 404
    anonymous = APIClient().get(f"/v2/arquivos/{note.pk}/danfe")
    assert anonymous.status_code == 403
    assert anonymous.json()["codigo"] == "permissao_negada"
    assert upstream.count() == 0


def test_a_file_not_archived_yet_is_fetched_archived_and_served(
    actor: Actor, other: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend
) -> None:
    note = make_note(actor.tenant, upstream=upstream)
    publish_change(note)
    assert other.client.get(f"/v2/arquivos/{note.pk}/danfe").status_code == 404
    assert upstream.count() == 0

    response = actor.client.get(f"/v2/arquivos/{note.pk}/danfe")
    assert _body(response) == upstream.body(note.upstream["caminho_danfe"])
    danfe = artifact_for(note, "danfe")
    assert danfe.state == ArtifactState.ARCHIVED
    assert upstream.count() == 1
    # The worker finds nothing left to do for it.
    assert archive_all()["archived"] == 1  # only the XML
    assert upstream.count() == 2


def test_a_note_settled_before_the_archive_knew_it_is_archived_on_first_read(
    actor: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend
) -> None:
    note = make_note(actor.tenant, upstream=upstream)  # never published
    response = actor.client.get(f"/v2/arquivos/{note.pk}/xml_nota_fiscal")
    assert _body(response).startswith(b"<file")
    assert Artifact.objects.filter(note=note).count() == 2
    assert artifact_for(note).state == ArtifactState.ARCHIVED


def test_focus_down_while_not_archived_answers_503_and_keeps_the_work(
    actor: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend
) -> None:
    note = make_note(actor.tenant, upstream=upstream)
    publish_change(note)
    upstream.fail(note.upstream["caminho_danfe"], "500")
    response = actor.client.get(f"/v2/arquivos/{note.pk}/danfe")
    assert response.status_code == 503
    assert response.json()["codigo"] == "arquivo_indisponivel"
    assert artifact_for(note, "danfe").state == ArtifactState.PENDING
    upstream.remove(note.upstream["caminho_danfe"])
    assert actor.client.get(f"/v2/arquivos/{note.pk}/danfe").status_code == 404


def test_files_of_an_earlier_attempt_are_served(
    actor: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend
) -> None:
    previous = f"/arquivos_development/11222333000181/202603/XMLs/{PREVIOUS_CHAVE}-nfe.xml"
    note = make_note(actor.tenant, upstream=upstream, extra={
        "tentativa_anterior": {"chave_nfe": f"NFe{PREVIOUS_CHAVE}",
                               "caminho_xml_nota_fiscal": previous},
    })
    serve_note_files(upstream, note)
    publish_change(note)
    archive_all()
    path = note_consulta(note)["tentativa_anterior"]["caminho_xml_nota_fiscal"]
    assert link_target(path) == (note.pk, "xml_nota_fiscal", 0)
    assert _body(actor.client.get(path)) == upstream.body(previous)


def test_a_note_still_changing_at_focus_is_passed_through_unarchived(
    actor: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend
) -> None:
    note = make_note(actor.tenant, upstream=upstream, contingencia_offline=True,
                     contingencia_offline_efetivada=False)
    response = actor.client.get(f"/v2/arquivos/{note.pk}/xml_nota_fiscal")
    assert _body(response) == upstream.body(note.upstream["caminho_xml_nota_fiscal"])
    assert not Artifact.objects.exists()


def test_native_api_lists_and_downloads_a_notes_files(
    actor: Actor, other: Actor, make_note, upstream: SandboxFiles, archive: ArchiveBackend
) -> None:
    note = make_note(actor.tenant, upstream=upstream)
    publish_change(note)
    archive_all()
    listing = actor.client.get(f"/api/v1/notes/{note.pk}/artifacts")
    assert listing.status_code == 200
    results = listing.json()["results"]
    assert {r["field"] for r in results} == {"xml_nota_fiscal", "danfe"}
    assert all(r["state"] == "archived" and len(r["sha256"]) == 64 for r in results)
    xml = next(r for r in results if r["field"] == "xml_nota_fiscal")
    assert xml["key"].endswith(f"/{CHAVE}/nfe.xml")

    response = actor.client.get(xml["download_url"])
    assert _body(response) == upstream.body(note.upstream["caminho_xml_nota_fiscal"])

    assert other.client.get(f"/api/v1/notes/{note.pk}/artifacts").status_code == 404
    denied = other.client.get(xml["download_url"])
    assert denied.status_code == 404 and denied.json()["code"] == "not_found"


def _zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200, getattr(response, "content", b"")
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_a_companys_month_is_exported_as_a_streamed_zip(
    actor: Actor, other: Actor, make_note, make_empresa, upstream: SandboxFiles,
    archive: ArchiveBackend
) -> None:
    note = make_note(actor.tenant, upstream=upstream)
    second = make_note(actor.tenant, upstream=upstream, chave="35260311222333000181550010000000"
                                                               "031000000035")
    publish_change(note)
    publish_change(second)
    archive_all()
    upstream.fail(second.upstream["caminho_danfe"], "500")  # irrelevant: already archived
    pending = make_note(actor.tenant, chave="35260311222333000181550010000000041000000041")
    publish_change(pending)  # scheduled, not archived
    # The other tenant's note of the same CNPJ and month is not in this tenant's export.
    foreign = make_note(other.tenant, upstream=upstream, chave="3526031122233300018155001000"
                                                                "0000051000000057")
    publish_change(foreign)
    archive_all()
    Artifact.objects.filter(note=pending).update(next_attempt_at=None)

    url = f"/api/v1/empresas/{note.empresa_id}/archive.zip?month=2026-03"
    response = actor.client.get(url)
    assert response.streaming
    assert "11222333000181-2026-03.zip" in response["Content-Disposition"]
    archive_zip = _zip(response)
    names = archive_zip.namelist()
    assert f"nfe/2026/03/{CHAVE}/nfe.xml" in names
    assert f"nfe/2026/03/{CHAVE}/danfe.pdf" in names
    assert len([n for n in names if n.endswith(".xml") or n.endswith(".pdf")]) == 4
    assert archive_zip.read(f"nfe/2026/03/{CHAVE}/nfe.xml") == upstream.body(
        note.upstream["caminho_xml_nota_fiscal"])
    manifest = list(csv.DictReader(io.StringIO(archive_zip.read("manifest.csv").decode())))
    assert len(manifest) == 6
    assert sorted(row["situacao"] for row in manifest) == ["arquivado"] * 4 + ["pendente"] * 2

    empty = _zip(actor.client.get(f"/api/v1/empresas/{note.empresa_id}/archive.zip"
                                  "?month=2026-04"))
    assert empty.namelist() == ["manifest.csv"]
    assert other.client.get(url).status_code == 404


@pytest.mark.parametrize("month", ["", "2026-13", "03-2026", "2026-3"])
def test_the_zip_month_is_validated(actor: Actor, make_empresa, month: str) -> None:
    empresa = make_empresa(actor.tenant)
    response = actor.client.get(f"/api/v1/empresas/{empresa.pk}/archive.zip?month={month}")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "month" in response.json()["fields"]
