"""A Focus hook is believed only as far as it can know: its own company, environment and token,
and a note that waits on Focus. Anything else it says is confirmed by reading Focus first.

The attacker here holds the company's Focus token (so can list its hooks at Focus, secrets
included) and posts forged deliveries with the right secret.
"""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from fiscal import steps
from fiscal.hooks import empresa_sync_hooks
from fiscal.models import FiscalEvent, FocusHook, NextAction, Note, NoteEvent, NoteStatus
from tenants.models import Empresa
from tenants.services import empresa_update
from tests.conftest import OTHER_CNPJ, VALID_CNPJ, Actor
from tests.fiscal.conftest import HOMOLOG_TOKEN, Upstream, drive
from tests.sandbox.helpers import nfe_payload
from webhooks.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

JUSTIFICATIVA = "Cancelamento de teste: pedido desfeito pelo cliente"


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


def stolen_nfe_hook(upstream: Upstream) -> dict:
    """What the holder of the token learns from Focus: the hook's URL and its secret."""
    with httpx.Client(base_url=upstream.server.url, auth=(HOMOLOG_TOKEN, "")) as focus:
        listed = focus.get("/v2/hooks").json()
    return next(h for h in listed if h["event"] == "nfe")


def forge(hook: dict, body: dict) -> httpx.Response:
    return httpx.post(hook["url"], json=body, headers={"Authorization": hook["authorization"]},
                      timeout=10)


def settled_by_hook(actor: Actor, upstream: Upstream, ref: str) -> Note:
    response = actor.client.post(f"/v2/nfe?ref={ref}", nfe_payload(VALID_CNPJ), format="json")
    assert response.status_code == 202, response.content
    note = Note.objects.get(ref=ref)
    upstream.process()
    assert wait_for(lambda: Note.objects.get(pk=note.pk).status == NoteStatus.AUTORIZADO)
    note.refresh_from_db()
    return note


def processing_note(empresa: Empresa, *, ref: str, environment: str = "homologacao") -> Note:
    """A note Focus has not settled yet (a scheduled read far away), made directly."""
    return Note.objects.create(
        tenant=empresa.tenant, empresa=empresa, environment=environment, doc_type="nfe",
        ref=ref, upstream_ref=f"fg-{ref}", payload=nfe_payload(empresa.documento),
        next_action=NextAction.SYNC, next_action_at=timezone.now() + timedelta(hours=1),
    )


def test_a_genuine_hook_settles_a_processing_note_with_no_extra_read(
    actor: Actor, hooked: list[FocusHook], upstream: Upstream
) -> None:
    note = settled_by_hook(actor, upstream, "trust-1")
    assert note.next_action == "" and note.sync_attempts == 0
    assert not note.events.filter(kind=NoteEvent.Kind.OPERATOR).exists()  # no read requested
    assert Event.objects.filter(note=note, type="note.authorized").count() == 1
    counter = upstream.counter(note.upstream_ref)
    assert counter["posts"] == 1 and counter["documents_created"] == 1


def test_a_forged_cancel_of_an_authorized_note_is_checked_with_focus_and_not_believed(
    actor: Actor, hooked: list[FocusHook], upstream: Upstream
) -> None:
    note = settled_by_hook(actor, upstream, "trust-2")
    stolen = stolen_nfe_hook(upstream)
    forged = forge(stolen, {"ref": note.upstream_ref, "status": "cancelado",
                            "status_sefaz": "135", "mensagem_sefaz": "Evento registrado",
                            "chave_nfe": "NFe" + "9" * 44})
    assert forged.status_code == 200  # acknowledged: the sender learns nothing

    note.refresh_from_db()
    assert note.status == NoteStatus.AUTORIZADO
    assert note.chave != "9" * 44  # nothing of the body was applied
    # ... and a read of Focus is due at once, ahead of scheduled polls.
    assert note.next_action == NextAction.SYNC and note.priority == 1
    assert actor.client.get("/v2/nfe/trust-2").json()["status"] == "autorizado"

    note = drive(note, upstream=upstream)  # the confirming read: the sandbox says autorizado
    assert note.status == NoteStatus.AUTORIZADO and note.sync_attempts == 1
    assert not Event.objects.filter(note=note, type="note.cancelled").exists()
    assert not note.events.filter(kind=NoteEvent.Kind.STATUS_CHANGED,
                                  message__contains="cancelado").exists()

    # The note can still really be cancelled, and that is published once.
    cancelled = actor.client.delete("/v2/nfe/trust-2", {"justificativa": JUSTIFICATIVA},
                                    format="json")
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelado"
    note.refresh_from_db()
    assert note.status == NoteStatus.CANCELADO
    assert Event.objects.filter(note=note, type="note.cancelled").count() == 1


def test_a_forged_substitution_of_an_authorized_note_is_not_applied(
    actor: Actor, hooked: list[FocusHook], upstream: Upstream
) -> None:
    note = settled_by_hook(actor, upstream, "trust-3")
    forge(stolen_nfe_hook(upstream), {"ref": note.upstream_ref, "status": "substituido"})
    note = drive(note, upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    assert not Event.objects.filter(note=note, type="note.replaced").exists()


def test_a_hook_cancelling_a_processing_note_is_confirmed_not_applied(
    actor: Actor, hooked: list[FocusHook], upstream: Upstream, empresa: Empresa
) -> None:
    # Focus settles a note in processing as authorized, denied or rejected; "cancelado" for a
    # note we never saw authorized is not one of those, so it is read first.
    note = processing_note(empresa, ref="trust-4")
    forge(stolen_nfe_hook(upstream), {"ref": note.upstream_ref, "status": "cancelado"})
    note.refresh_from_db()
    assert note.status == NoteStatus.PROCESSANDO
    assert note.next_action == NextAction.SYNC and note.priority == 1
    assert note.next_action_at <= timezone.now()
    assert not Event.objects.filter(note=note).exists()


def test_a_repeated_hook_of_a_settled_note_changes_nothing_and_reads_nothing(
    actor: Actor, hooked: list[FocusHook], upstream: Upstream
) -> None:
    note = settled_by_hook(actor, upstream, "trust-5")
    forge(stolen_nfe_hook(upstream), {"ref": note.upstream_ref, "status": "autorizado",
                                      "protocolo": "999999999999999"})
    note.refresh_from_db()
    assert note.status == NoteStatus.AUTORIZADO and note.next_action == ""
    assert note.protocolo != "999999999999999"
    assert Event.objects.filter(note=note).count() == 1  # the one note.authorized


def test_a_hook_naming_another_companys_note_changes_nothing_and_is_logged_on_the_hook(
    actor: Actor, other: Actor, hooked: list[FocusHook], upstream: Upstream, make_empresa
) -> None:
    mine_too = make_empresa(actor.tenant, cnpj=OTHER_CNPJ)  # same tenant, same token even
    theirs = make_empresa(other.tenant)
    targets = [processing_note(mine_too, ref="trust-6"), processing_note(theirs, ref="trust-7")]
    stolen = stolen_nfe_hook(upstream)
    for target in targets:
        assert forge(stolen, {"ref": target.upstream_ref, "status": "autorizado"}
                     ).status_code == 200
    for target in targets:
        target.refresh_from_db()
        assert target.status == NoteStatus.PROCESSANDO
        assert not target.events.exists()  # not even a "hook received" on their timeline
        assert not Event.objects.filter(note=target).exists()
    hook = FocusHook.objects.get(pk=stolen["url"].rsplit("/", 1)[1])
    assert hook.refused_count == 2 and hook.last_refused_at is not None
    assert [(e["ref"], e["reason"]) for e in hook.refused_log] == [
        (t.upstream_ref, "other_company_or_environment") for t in targets
    ]


def test_a_hook_naming_a_note_of_the_other_environment_changes_nothing(
    actor: Actor, hooked: list[FocusHook], upstream: Upstream, empresa: Empresa
) -> None:
    live = processing_note(empresa, ref="trust-8", environment="producao")
    forge(stolen_nfe_hook(upstream), {"ref": live.upstream_ref, "status": "autorizado"})
    live.refresh_from_db()
    assert live.status == NoteStatus.PROCESSANDO and not live.events.exists()
    hook = FocusHook.objects.get(environment="homologacao", event="nfe")
    assert hook.refused_log[-1]["reason"] == "other_company_or_environment"
    # an unknown ref is acknowledged and logged the same way
    forge(stolen_nfe_hook(upstream), {"ref": "fg-nobody", "status": "autorizado"})
    hook.refresh_from_db()
    assert hook.refused_count == 2 and hook.refused_log[-1]["reason"] == "unknown_ref"


def test_the_log_of_a_hook_is_bounded(hooked: list[FocusHook], upstream: Upstream) -> None:
    stolen = stolen_nfe_hook(upstream)
    for n in range(25):
        forge(stolen, {"ref": f"fg-none-{n}", "status": "autorizado"})
    hook = FocusHook.objects.get(environment="homologacao", event="nfe")
    assert hook.refused_count == 25
    assert len(hook.refused_log) == 20 and hook.refused_log[-1]["ref"] == "fg-none-24"


def test_after_the_token_changes_the_old_hook_moves_nothing(
    actor: Actor, hooked: list[FocusHook], upstream: Upstream, empresa: Empresa, settings
) -> None:
    note = processing_note(empresa, ref="trust-9")
    assert steps._first_sync_delay(note) == settings.FG_SYNC_FIRST_DELAY_HOOKED
    stolen = stolen_nfe_hook(upstream)  # listed with the token the company had
    settings.FG_FOCUS_HOOKS_ENABLED = False  # the re-registration has not run yet
    empresa_update(empresa=empresa, data={"token_homologacao": "a-new-focus-token-000001"})
    # No hook will be believed now: new notes are polled as if there were none.
    assert steps._first_sync_delay(note) == settings.FG_SYNC_FIRST_DELAY
    forge(stolen, {"ref": note.upstream_ref, "status": "autorizado"})
    note.refresh_from_db()
    assert note.status == NoteStatus.PROCESSANDO and not note.events.exists()
    hook = FocusHook.objects.get(environment="homologacao", event="nfe")
    assert hook.refused_log[-1]["reason"] == "token_replaced"

    # Registering under the new token gives the hook a new secret: the old one is refused.
    old_secret = hook.secret
    upstream.server.add_companies([{
        "cnpj": "07504505000132", "nome": "Outra", "uf": "PR", "regime_tributario": 1,
        "habilita_nfe": True, "token_homologacao": "a-new-focus-token-000001",
        "token_producao": "a-new-focus-token-000002",
    }])
    settings.FG_FOCUS_HOOKS_ENABLED = True
    empresa.refresh_from_db()
    empresa_sync_hooks(empresa=empresa)
    hook.refresh_from_db()
    assert hook.secret != old_secret and hook.token_fingerprint == (
        empresa.token_homologacao_fingerprint)
    assert forge(stolen, {"ref": note.upstream_ref, "status": "autorizado"}).status_code == 403


def test_our_own_cancel_and_its_hook_publish_once_and_read_nothing(
    actor: Actor, hooked: list[FocusHook], upstream: Upstream
) -> None:
    note = settled_by_hook(actor, upstream, "trust-10")
    cancelled = actor.client.delete("/v2/nfe/trust-10", {"justificativa": JUSTIFICATIVA},
                                    format="json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelado"
    # Focus then posts the cancelled note to our hook: it says what we already know.
    assert wait_for(lambda: note.events.filter(kind=NoteEvent.Kind.HOOK_RECEIVED,
                                               data__status="cancelado").exists())
    note.refresh_from_db()
    assert note.status == NoteStatus.CANCELADO and note.next_action == ""
    assert not note.events.filter(kind=NoteEvent.Kind.OPERATOR).exists()
    assert note.sync_attempts == 0
    assert Event.objects.filter(note=note, type="note.cancelled").count() == 1


def test_the_hook_of_our_own_cancel_outrunning_its_answer_asks_focus_nothing(
    actor: Actor, hooked: list[FocusHook], upstream: Upstream
) -> None:
    """Under load Focus's hook of a cancel can arrive before the answer to our DELETE."""
    note = settled_by_hook(actor, upstream, "trust-13")
    FiscalEvent.objects.create(tenant=note.tenant, note=note,
                               kind=FiscalEvent.Kind.CANCELAMENTO,
                               payload={"justificativa": JUSTIFICATIVA})  # in flight: pendente
    before = note.next_action
    assert forge(stolen_nfe_hook(upstream),
                 {"ref": note.upstream_ref, "status": "cancelado"}).status_code == 200
    note.refresh_from_db()
    assert note.status == NoteStatus.AUTORIZADO  # the cancel's own answer settles it
    assert note.next_action == before
    assert not note.events.filter(kind=NoteEvent.Kind.OPERATOR).exists()
    assert note.events.filter(kind=NoteEvent.Kind.HOOK_RECEIVED,
                              message__contains="our cancel in flight").exists()


def test_a_hook_moving_a_cancelled_note_backwards_asks_focus_nothing(
    actor: Actor, hooked: list[FocusHook], upstream: Upstream
) -> None:
    note = settled_by_hook(actor, upstream, "trust-11")
    assert actor.client.delete("/v2/nfe/trust-11", {"justificativa": JUSTIFICATIVA},
                               format="json").status_code == 200
    for status in ("autorizado", "processando_autorizacao", "erro_cancelamento"):
        forge(stolen_nfe_hook(upstream), {"ref": note.upstream_ref, "status": status})
    note.refresh_from_db()
    assert note.status == NoteStatus.CANCELADO and note.next_action == ""
    assert not note.events.filter(kind=NoteEvent.Kind.OPERATOR).exists()
    assert Event.objects.filter(note=note, type="note.authorized").count() == 1


def test_a_true_cancel_made_at_focus_is_learnt_through_the_confirming_read(
    actor: Actor, hooked: list[FocusHook], upstream: Upstream
) -> None:
    note = settled_by_hook(actor, upstream, "trust-12")
    # Cancelled at Focus directly (its panel, another system of the token's holder).
    with httpx.Client(base_url=upstream.server.url, auth=(HOMOLOG_TOKEN, "")) as focus:
        done = focus.request("DELETE", f"/v2/nfe/{note.upstream_ref}",
                             json={"justificativa": JUSTIFICATIVA})
    assert done.status_code == 200, done.text
    assert wait_for(lambda: Note.objects.get(pk=note.pk).next_action == NextAction.SYNC)
    note.refresh_from_db()
    assert note.status == NoteStatus.AUTORIZADO  # the hook alone is not believed ...
    note = drive(note, upstream=upstream)
    assert note.status == NoteStatus.CANCELADO  # ... what Focus answers is
    assert note.sync_attempts == 1
    assert Event.objects.filter(note=note, type="note.cancelled").count() == 1
