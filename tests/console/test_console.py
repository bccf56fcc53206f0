"""The staff console: search, dashboard, and actions that go through services and name the
staff user on the timeline (issue 13 §4, issue 10 §7)."""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fiscal.focus import budget
from fiscal.focus.client import token_fingerprint
from fiscal.models import NextAction, Note, NoteEvent, NoteStatus
from tests.conftest import VALID_CNPJ, Actor, make_actor
from tests.console.conftest import STAFF_NAME
from tests.fiscal.conftest import HOMOLOG_TOKEN, Upstream, drive
from tests.sandbox.helpers import nfe_payload
from tests.webhooks.conftest import create_endpoint, run_due
from webhooks.endpoints import endpoint_disable
from webhooks.models import Attempt, Delivery, Endpoint, EndpointChange


def authorized_note(actor: Actor, upstream: Upstream, ref: str = "console-1") -> Note:
    response = actor.client.post(f"/v2/nfe?ref={ref}", nfe_payload(VALID_CNPJ), format="json")
    assert response.status_code == 202, response.content
    note = drive(Note.objects.get(ref=ref), upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO and len(note.chave) == 44
    return note


def test_search_finds_a_note_by_chave_ref_upstream_ref_and_cnpj(staff_client, actor: Actor,
                                                                 empresa, upstream) -> None:
    note = authorized_note(actor, upstream)
    page = f"/admin/console/notes/{note.pk}/"
    punctuated = f"{VALID_CNPJ[:2]}.{VALID_CNPJ[2:5]}.{VALID_CNPJ[5:8]}/{VALID_CNPJ[8:12]}-" \
                 f"{VALID_CNPJ[12:]}"
    for term in (note.chave, " ".join([note.chave[:22], note.chave[22:]]), note.ref,
                 note.upstream_ref, VALID_CNPJ, punctuated):
        response = staff_client.get("/admin/console/", {"q": term})
        # one match: straight to the note's page
        assert response.status_code == 302, term
        assert response["Location"] == page, term
    missing = staff_client.get("/admin/console/", {"q": "9" * 44})
    assert missing.status_code == 200
    assert b"No note matches." in missing.content


def test_console_is_for_staff_only(client, actor: Actor, empresa, upstream) -> None:
    note = authorized_note(actor, upstream)
    for url in ("/admin/console/", f"/admin/console/notes/{note.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    # Staff without the permission to view notes: refused, and no action taken.
    clerk = get_user_model().objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    client.force_login(clerk)
    assert client.get("/admin/console/").status_code == 403
    assert client.post(f"/admin/console/notes/{note.pk}/resync").status_code == 403
    assert not NoteEvent.objects.filter(note=note, kind=NoteEvent.Kind.OPERATOR).exists()


def test_resync_goes_through_the_service_and_names_the_staff_user(
        staff_client, actor: Actor, empresa, upstream) -> None:
    note = authorized_note(actor, upstream)
    assert staff_client.get(f"/admin/console/notes/{note.pk}/resync").status_code == 405
    response = staff_client.post(f"/admin/console/notes/{note.pk}/resync")
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.next_action == NextAction.SYNC and note.next_action_at <= timezone.now()
    entry = NoteEvent.objects.filter(note=note, kind=NoteEvent.Kind.OPERATOR).get()
    assert STAFF_NAME in entry.message and entry.data["by"] == STAFF_NAME
    page = staff_client.get(f"/admin/console/notes/{note.pk}/").content.decode()
    assert f"sync requested by {STAFF_NAME}" in page


def test_admin_sync_action_names_the_staff_user(staff_client, actor: Actor, empresa,
                                                upstream) -> None:
    note = authorized_note(actor, upstream)
    staff_client.post("/admin/fiscal/note/", {"action": "sync_now",
                                              "_selected_action": [note.pk]})
    entry = NoteEvent.objects.get(note=note, kind=NoteEvent.Kind.OPERATOR)
    assert entry.data["by"] == STAFF_NAME


def test_replay_sends_the_note_webhooks_again_and_names_the_staff_user(
        staff_client, actor: Actor, empresa, upstream, receiver) -> None:
    create_endpoint(actor, receiver.url())
    note = authorized_note(actor, upstream)
    assert run_due() == ["succeeded"]
    delivery = Delivery.objects.get(event__note=note)

    response = staff_client.post(f"/admin/console/notes/{note.pk}/replay")
    assert response.status_code == 302
    assert run_due() == ["succeeded"]
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery.webhook_id] * 2
    assert Attempt.objects.filter(delivery=delivery).count() == 2
    entry = NoteEvent.objects.get(note=note, kind=NoteEvent.Kind.OPERATOR)
    assert entry.message == f"webhooks replayed by {STAFF_NAME}"
    assert entry.data == {"by": STAFF_NAME, "deliveries": 1}


def test_another_tenants_note_replay_stays_with_that_tenant(staff_client, actor: Actor,
                                                            empresa, upstream,
                                                            receiver) -> None:
    """Staff act on any tenant's note, but the service is still scoped to the note's tenant."""
    create_endpoint(actor, receiver.url())
    note = authorized_note(actor, upstream)
    other = make_actor("Other SaaS")
    create_endpoint(other, receiver.url("/other"))
    run_due()
    staff_client.post(f"/admin/console/notes/{note.pk}/replay")
    run_due()
    assert {r.path for r in receiver.requests} == {"/hook"}


def test_disable_and_enable_an_endpoint_leave_its_timeline(staff_client, actor: Actor,
                                                           receiver) -> None:
    endpoint, _ = create_endpoint(actor, receiver.url())
    staff_client.post("/admin/webhooks/endpoint/", {"action": "disable",
                                                    "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert not endpoint.is_active and STAFF_NAME in endpoint.disabled_reason
    staff_client.post("/admin/webhooks/endpoint/", {"action": "reenable",
                                                    "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.is_active
    changes = list(EndpointChange.objects.filter(endpoint=endpoint).order_by("id")
                   .values_list("kind", "by"))
    assert changes == [("disabled", STAFF_NAME), ("enabled", STAFF_NAME)]
    page = staff_client.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/").content.decode()
    assert "Re-enabled by staff." in page


def test_dashboard_shows_pending_stuck_endpoints_archive_and_budget(
        staff_client, actor: Actor, empresa, upstream, receiver) -> None:
    note = authorized_note(actor, upstream)
    Note.objects.filter(pk=note.pk).update(next_action=NextAction.SYNC,
                                           stuck_at=timezone.now())
    endpoint, _ = create_endpoint(actor, receiver.url())
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now())
    fingerprint = token_fingerprint(HOMOLOG_TOKEN)
    for _ in range(3):
        budget.acquire(fingerprint=fingerprint, tenant_id=actor.tenant.pk, urgent=True,
                       now=time.time())
    used = budget.left(fingerprint=fingerprint).used

    page = staff_client.get("/admin/console/").content.decode()
    assert "Stuck notes: 1" in page
    assert f"{note.doc_type} {note.ref}" in page
    assert endpoint.public_id in page
    assert "files waiting to be archived" in page
    assert fingerprint in page and HOMOLOG_TOKEN not in page
    assert f"{used} / 100" in page and used >= 3


def test_dashboard_makes_a_constant_number_of_queries(staff_client, actor: Actor, empresa,
                                                      upstream, receiver) -> None:
    authorized_note(actor, upstream, "q-1")
    staff_client.get("/admin/console/")
    with CaptureQueriesContext(connection) as few:
        staff_client.get("/admin/console/")
    for i in range(5):
        note = authorized_note(actor, upstream, f"q-{i + 2}")
        Note.objects.filter(pk=note.pk).update(stuck_at=timezone.now(), next_action="sync")
        endpoint, _ = create_endpoint(actor, receiver.url(f"/e{i}"))
        Endpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    with CaptureQueriesContext(connection) as many:
        staff_client.get("/admin/console/")
    assert len(many) == len(few)


def test_endpoint_form_cannot_switch_it_on_or_off(staff_client, actor: Actor, receiver) -> None:
    """Only the actions (services, timeline) switch an endpoint: the form has no such field."""
    endpoint, _ = create_endpoint(actor, receiver.url())
    page = staff_client.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/").content.decode()
    assert 'name="is_active"' not in page
    assert 'name="url"' in page  # still a configuration form


def test_admin_home_links_to_the_console(staff_client) -> None:
    page = staff_client.get("/admin/").content.decode()
    assert 'href="/admin/console/"' in page


def test_admin_delivery_replay_names_the_staff_user_on_the_note(
        staff_client, actor: Actor, empresa, upstream, receiver) -> None:
    create_endpoint(actor, receiver.url())
    note = authorized_note(actor, upstream)
    assert run_due() == ["succeeded"]
    delivery = Delivery.objects.get(event__note=note)
    staff_client.post("/admin/webhooks/delivery/", {"action": "replay",
                                                    "_selected_action": [delivery.pk]})
    assert run_due() == ["succeeded"]
    entry = NoteEvent.objects.get(note=note, kind=NoteEvent.Kind.OPERATOR)
    assert entry.data == {"by": STAFF_NAME, "webhook_id": delivery.webhook_id}


def test_a_gateway_disable_is_on_the_endpoint_timeline_without_a_staff_name(
        actor: Actor, receiver) -> None:
    endpoint, _ = create_endpoint(actor, receiver.url())
    gone = "The endpoint answered 410 Gone."
    assert endpoint_disable(endpoint=endpoint, reason=gone)
    # a second call changes nothing and writes nothing
    assert not endpoint_disable(endpoint=endpoint, reason="again")
    assert list(EndpointChange.objects.filter(endpoint=endpoint).values_list(
        "kind", "by", "reason")) == [("disabled", "", gone)]
