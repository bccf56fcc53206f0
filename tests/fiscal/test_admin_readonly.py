"""Fiscal records are read-only in the admin, even for a superuser (issue 10 §7).

Every attack an insider with an admin login could make through the admin's own views: add,
change (GET form / POST), delete (GET confirm / POST), bulk delete through the changelist
action. Each must answer 403 (or refuse the action) and leave the rows as they were."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fiscal.models import FiscalEvent, FocusHook, Inutilizacao, Note, NoteEvent
from storage.models import Artifact
from tenants.models import Empresa
from tests.conftest import Actor
from webhooks.models import Attempt, Delivery, Endpoint, Event

PASSWORD = "pw-for-tests-only"


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("root-staff", "r@example.com", PASSWORD)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def make_records(empresa: Empresa, n: int = 1) -> dict[str, list]:
    """n rows of every fiscal record, written straight to the ORM (as the services would)."""
    tenant = empresa.tenant
    now = timezone.now()
    endpoint = Endpoint.objects.create(
        tenant=tenant, environment="homologacao", public_id=uuid.uuid4().hex[:16],
        url="https://receiver.example.com/hook", secret="whsec_dGVzdHRlc3R0ZXN0dGVzdA==",
    )
    rows: dict[str, list] = {k: [] for k in (
        "note", "noteevent", "fiscalevent", "inutilizacao", "artifact", "event", "delivery",
        "attempt", "focushook")}
    for i in range(n):
        tag = uuid.uuid4().hex[:8]
        note = Note.objects.create(
            tenant=tenant, empresa=empresa, environment="homologacao", doc_type="nfe",
            ref=f"ro-{tag}", upstream_ref=f"up-{tag}", payload={}, status="autorizado",
            chave=f"{i:044d}", next_action="",
        )
        rows["note"].append(note)
        rows["noteevent"].append(NoteEvent.objects.create(note=note, kind="created"))
        rows["fiscalevent"].append(FiscalEvent.objects.create(
            tenant=tenant, note=note, kind="carta_correcao", sequence=1, payload={"x": 1}))
        rows["inutilizacao"].append(Inutilizacao.objects.create(
            tenant=tenant, empresa=empresa, environment="homologacao", modelo="55", serie="1",
            numero_inicial=10 + i, numero_final=10 + i, status="autorizado"))
        rows["artifact"].append(Artifact.objects.create(
            tenant=tenant, empresa=empresa, note=note, environment="homologacao",
            doc_type="nfe", kind="nfe_xml", field="caminho_xml_nota_fiscal",
            source_path=f"/x/{tag}.xml", key=f"k/{tag}.xml", period=now.date(),
            retain_until=now + timedelta(days=1825)))
        event = Event.objects.create(tenant=tenant, sequence=None, type="note.authorized",
                                     environment="homologacao", note=note, created_at=now)
        rows["event"].append(event)
        delivery = Delivery.objects.create(tenant=tenant, event=event, endpoint=endpoint,
                                           webhook_id=f"msg_{tag}")
        rows["delivery"].append(delivery)
        rows["attempt"].append(Attempt.objects.create(delivery=delivery, started_at=now,
                                                      status_code=200, succeeded=True))
        rows["focushook"].append(FocusHook.objects.create(
            empresa=empresa, environment="homologacao", event=f"nfe-{tag}", secret="s" * 32))
    return rows


MODELS = {
    "note": ("fiscal", Note), "noteevent": ("fiscal", NoteEvent),
    "fiscalevent": ("fiscal", FiscalEvent), "inutilizacao": ("fiscal", Inutilizacao),
    "focushook": ("fiscal", FocusHook), "artifact": ("storage", Artifact),
    "event": ("webhooks", Event), "delivery": ("webhooks", Delivery),
    "attempt": ("webhooks", Attempt),
}
REGISTERED = [m for m in MODELS if m != "noteevent"]  # the timeline is shown inline on notes


@pytest.mark.parametrize("name", REGISTERED)
def test_superuser_cannot_add_change_or_delete(name: str, staff_client, empresa) -> None:
    app, model = MODELS[name]
    obj = make_records(empresa)[name][0]
    before = model.objects.count()
    base = f"/admin/{app}/{name}/"

    assert staff_client.get(f"{base}add/").status_code == 403
    assert staff_client.post(f"{base}add/", {}).status_code == 403
    assert staff_client.post(f"{base}{obj.pk}/change/", {}).status_code == 403
    assert staff_client.get(f"{base}{obj.pk}/delete/").status_code == 403
    assert staff_client.post(f"{base}{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    # The bulk delete action is gone: posting it deletes nothing.
    staff_client.post(base, {"action": "delete_selected", "_selected_action": [obj.pk],
                             "post": "yes"})
    assert model.objects.count() == before
    assert model.objects.filter(pk=obj.pk).exists()

    # Still viewable: the list and the detail page, with no save, add or delete control.
    listing = staff_client.get(base)
    assert listing.status_code == 200
    assert b'value="delete_selected"' not in listing.content
    assert f'href="{base}add/"'.encode() not in listing.content
    detail = staff_client.get(f"{base}{obj.pk}/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert f"{base}{obj.pk}/delete/".encode() not in detail.content


def test_a_fiscal_event_cannot_be_added_by_hand(staff_client, empresa) -> None:
    note = make_records(empresa)["note"][0]
    before = FiscalEvent.objects.count()
    response = staff_client.post("/admin/fiscal/fiscalevent/add/", {
        "tenant": note.tenant_id, "note": note.pk, "kind": "cancelamento",
        "payload": '{"justificativa": "typed in by hand"}', "status": "pendente",
    })
    assert response.status_code == 403
    assert FiscalEvent.objects.count() == before


def test_the_note_change_page_does_not_save_edits(staff_client, empresa) -> None:
    note = make_records(empresa)["note"][0]
    response = staff_client.post(f"/admin/fiscal/note/{note.pk}/change/", {
        "status": "cancelado", "ref": "forged", "noteevent_set-TOTAL_FORMS": "0",
    })
    assert response.status_code == 403
    note.refresh_from_db()
    assert (note.status, note.ref) != ("cancelado", "forged")


def test_the_timeline_is_shown_read_only_on_the_note_page(staff_client, empresa) -> None:
    note = make_records(empresa)["note"][0]
    NoteEvent.objects.create(note=note, kind="operator", message="looked at by ops")
    page = staff_client.get(f"/admin/fiscal/note/{note.pk}/change/").content.decode()
    assert "looked at by ops" in page
    assert "noteevent_set-0-DELETE" not in page
    assert f"/admin/console/notes/{note.pk}/" in page


def test_tenants_and_companies_cannot_be_deleted_from_the_admin(staff_client, actor: Actor,
                                                                empresa) -> None:
    for url in (f"/admin/tenants/tenant/{actor.tenant.pk}/delete/",
                f"/admin/tenants/empresa/{empresa.pk}/delete/",
                f"/admin/tenants/apikey/{actor.key.api_key.pk}/delete/"):
        assert staff_client.post(url, {"post": "yes"}).status_code == 403, url
    assert Empresa.objects.filter(pk=empresa.pk).exists()


@pytest.mark.parametrize("name", ["note", "fiscalevent", "inutilizacao", "artifact", "event",
                                  "delivery", "attempt", "focushook"])
def test_changelists_make_a_constant_number_of_queries(name: str, staff_client, empresa) -> None:
    app, _ = MODELS[name]
    make_records(empresa, 1)
    staff_client.get(f"/admin/{app}/{name}/")  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as one:
        assert staff_client.get(f"/admin/{app}/{name}/").status_code == 200
    make_records(empresa, 6)
    with CaptureQueriesContext(connection) as seven:
        assert staff_client.get(f"/admin/{app}/{name}/").status_code == 200
    assert len(seven) == len(one), [q["sql"] for q in seven.captured_queries]
