from __future__ import annotations

from django.contrib.auth.models import User

from fiscal.models import NextAction, Note
from tenants.models import Empresa
from tests.conftest import Actor


def test_admin_finds_notes_and_schedules_a_sync(actor: Actor, empresa: Empresa, client) -> None:
    note = Note.objects.create(
        tenant=actor.tenant, empresa=empresa, environment="homologacao", doc_type="nfe",
        ref="adm-1", upstream_ref="up-adm-1", payload={}, status="autorizado",
        chave="4" * 44, next_action=NextAction.NONE,
    )
    User.objects.create_superuser("staff", "s@example.com", "pw-for-tests-only")
    client.login(username="staff", password="pw-for-tests-only")
    for query in ("adm-1", "4" * 44, empresa.cnpj):
        page = client.get("/admin/fiscal/note/", {"q": query}).content.decode()
        assert "adm-1" in page, query
    assert client.get("/admin/fiscal/note/?stuck=yes").status_code == 200
    assert client.get(f"/admin/fiscal/note/{note.pk}/change/").status_code == 200
    client.post("/admin/fiscal/note/", {"action": "sync_now", "_selected_action": [note.pk]})
    note.refresh_from_db()
    assert note.next_action == NextAction.SYNC
