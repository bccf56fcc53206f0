"""Focus hooks: registered per company, received with their secret, settle notes without polls."""

from __future__ import annotations

import time

import httpx
import pytest

from fiscal.hooks import empresa_sync_hooks
from fiscal.models import FocusHook, Note, NoteEvent, NoteStatus
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import HOMOLOG_TOKEN, Upstream, drive
from tests.sandbox.helpers import nfe_payload

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(condition, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    """Poll a condition; a bounded wait for an asynchronous hook, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def hooked(settings, live_server, upstream: Upstream, empresa: Empresa) -> list[FocusHook]:
    settings.FG_PUBLIC_URL = live_server.url
    settings.FG_FOCUS_HOOKS_ENABLED = True
    return empresa_sync_hooks(empresa=empresa)


def test_hooks_are_registered_for_each_enabled_event(hooked: list[FocusHook],
                                                     upstream: Upstream) -> None:
    events = {h.event for h in hooked if h.environment == "homologacao"}
    assert events == {"nfe", "nfse", "nfsen", "inutilizacao", "nfce_contingencia"}
    with httpx.Client(base_url=upstream.server.url, auth=(HOMOLOG_TOKEN, "")) as focus:
        listed = focus.get("/v2/hooks").json()
    mine = [h for h in listed if h["event"] == "nfe"]
    assert len(mine) == 1
    assert mine[0]["url"].endswith(f"/focus/hooks/{hooked[0].pk}") or any(
        mine[0]["url"].endswith(f"/focus/hooks/{h.pk}") for h in hooked
    )
    # the secret is stored encrypted and sent to Focus as the authorization value
    assert mine[0]["authorization"] == FocusHook.objects.get(
        environment="homologacao", event="nfe").secret


def test_a_hook_settles_the_note_without_a_poll(actor: Actor, hooked: list[FocusHook],
                                                upstream: Upstream, settings) -> None:
    response = actor.client.post("/v2/nfe?ref=h-1", nfe_payload(VALID_CNPJ), format="json")
    assert response.status_code == 202
    note = Note.objects.get(ref="h-1")
    # With hooks registered the first poll is far away: the hook is expected first.
    assert note.next_action_at.timestamp() - time.time() > 10
    upstream.process()
    assert wait_for(lambda: Note.objects.get(pk=note.pk).status == NoteStatus.AUTORIZADO)
    note.refresh_from_db()
    assert note.next_action == ""
    assert note.sync_attempts == 0
    assert note.events.filter(kind=NoteEvent.Kind.HOOK_RECEIVED).exists()
    counter = upstream.counter(note.upstream_ref)
    assert counter["posts"] == 1 and counter["documents_created"] == 1


def test_hook_with_a_wrong_secret_is_refused(live_server, hooked: list[FocusHook]) -> None:
    hook = hooked[0]
    url = f"{live_server.url}/focus/hooks/{hook.pk}"
    wrong = httpx.post(url, json={"ref": "x", "status": "autorizado"},
                       headers={"Authorization": "not-the-secret"})
    assert wrong.status_code == 403
    right = httpx.post(url, json={"ref": "unknown", "status": "autorizado"},
                       headers={"Authorization": hook.secret})
    assert right.status_code == 200  # acknowledged, so Focus does not retry it for nothing


def test_lost_hooks_still_settle_by_polling(actor: Actor, hooked: list[FocusHook],
                                            upstream: Upstream) -> None:
    upstream.control.post("/hooks/pause", json={})
    actor.client.post("/v2/nfe?ref=h-2", nfe_payload(VALID_CNPJ), format="json")
    note = drive(Note.objects.get(ref="h-2"), upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    assert note.sync_attempts >= 1


def test_reconcile_recreates_a_hook_focus_lost(hooked: list[FocusHook], upstream: Upstream,
                                               empresa: Empresa) -> None:
    nfe_hook = FocusHook.objects.get(environment="homologacao", event="nfe")
    with httpx.Client(base_url=upstream.server.url, auth=(HOMOLOG_TOKEN, "")) as focus:
        assert focus.delete(f"/v2/hooks/{nfe_hook.focus_id}").status_code == 200
        empresa_sync_hooks(empresa=empresa)
        listed = focus.get("/v2/hooks").json()
    assert len([h for h in listed if h["event"] == "nfe"]) == 1
    nfe_hook.refresh_from_db()
    assert nfe_hook.focus_id in {str(h["id"]) for h in listed}
    # running it again changes nothing
    before = {h.focus_id for h in FocusHook.objects.all()}
    empresa_sync_hooks(empresa=empresa)
    assert {h.focus_id for h in FocusHook.objects.all()} == before
