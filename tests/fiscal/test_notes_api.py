"""Native API for notes: list and search, timeline, sync now; always scoped by tenant."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fiscal.models import NextAction, Note, NoteStatus
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream, drive
from tests.sandbox.helpers import nfe_payload, nfse_payload


def make_note(empresa: Empresa, ref: str, **fields: object) -> Note:
    defaults = {
        "tenant": empresa.tenant, "empresa": empresa, "environment": "homologacao",
        "doc_type": "nfe", "ref": ref, "upstream_ref": f"up-{empresa.tenant_id}-{ref}",
        "payload": {}, "status": NoteStatus.AUTORIZADO, "next_action": NextAction.NONE,
    }
    defaults.update(fields)
    return Note.objects.create(**defaults)


def test_list_filters_and_isolation(actor: Actor, other: Actor, empresa: Empresa,
                                    make_empresa) -> None:
    make_note(empresa, "a", chave="4" * 44)
    make_note(empresa, "b", status=NoteStatus.ERRO_AUTORIZACAO)
    make_note(empresa, "c", doc_type="nfse")
    theirs = make_empresa(other.tenant)
    make_note(theirs, "a")

    refs = lambda url: sorted(n["ref"] for n in actor.client.get(url).json()["results"])  # noqa: E731
    assert refs("/api/v1/notes") == ["a", "b", "c"]
    assert refs("/api/v1/notes?doc_type=nfse") == ["c"]
    assert refs("/api/v1/notes?status=erro_autorizacao") == ["b"]
    assert refs(f"/api/v1/notes?chave={'4' * 44}") == ["a"]
    assert refs("/api/v1/notes?ref=b") == ["b"]
    assert refs(f"/api/v1/notes?empresa={empresa.pk}") == ["a", "b", "c"]
    assert refs(f"/api/v1/notes?empresa={theirs.pk}") == []
    tomorrow = (timezone.now() + timezone.timedelta(days=1)).isoformat()
    assert refs(f"/api/v1/notes?created_from={tomorrow.replace('+', '%2B')}") == []
    assert sorted(n["ref"] for n in other.client.get("/api/v1/notes").json()["results"]) == ["a"]

    bad = actor.client.get("/api/v1/notes?status=voando")
    assert bad.status_code == 400
    assert "status" in bad.json()["fields"]


def test_list_is_paginated_with_a_constant_number_of_queries(actor: Actor,
                                                             empresa: Empresa) -> None:
    for i in range(3):
        make_note(empresa, f"few-{i}")
    actor.client.get("/api/v1/notes")  # the key's last_used_at is written on first use
    with CaptureQueriesContext(connection) as few:
        actor.client.get("/api/v1/notes")
    for i in range(40):
        make_note(empresa, f"many-{i}")
    with CaptureQueriesContext(connection) as many:
        page = actor.client.get("/api/v1/notes?limit=25").json()
    assert len(many) == len(few)
    assert len(page["results"]) == 25 and page["next"]
    rest = actor.client.get(page["next"]).json()
    assert len(rest["results"]) == 18


def test_detail_shows_the_timeline_and_other_tenant_gets_404(
    actor: Actor, other: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    actor.client.post("/v2/nfe?ref=t-1", nfe_payload(VALID_CNPJ), format="json")
    note = drive(Note.objects.get(ref="t-1"), upstream=upstream)
    body = actor.client.get(f"/api/v1/notes/{note.pk}").json()
    assert body["status"] == "autorizado"
    kinds = [e["kind"] for e in body["timeline"]]
    assert kinds[0] == "created" and "status_changed" in kinds
    assert other.client.get(f"/api/v1/notes/{note.pk}").status_code == 404
    assert other.client.post(f"/api/v1/notes/{note.pk}/sync").status_code == 404


def test_sync_now_reads_the_note_again(actor: Actor, empresa: Empresa,
                                       upstream: Upstream) -> None:
    actor.client.post("/v2/nfse?ref=sy-1", nfse_payload(VALID_CNPJ), format="json")
    note = drive(Note.objects.get(ref="sy-1"), upstream=upstream)
    reads = note.sync_attempts
    response = actor.client.post(f"/api/v1/notes/{note.pk}/sync")
    assert response.status_code == 202
    note.refresh_from_db()
    assert note.next_action == NextAction.SYNC and note.priority == 1
    note = drive(note, upstream=upstream)
    assert note.sync_attempts == reads + 1
    assert note.status == NoteStatus.AUTORIZADO
