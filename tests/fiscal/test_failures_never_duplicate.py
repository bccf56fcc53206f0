"""Every ambiguous or failed upstream call ends in one fiscal document, never two.

Each test injects a fault at the sandbox, emits through the facade (inline submit, so the
tenant's own request meets the fault), drives the note to its end and checks the sandbox's
counters: POSTs received and fiscal documents created for the note's upstream ref.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone

from fiscal.models import NextAction, Note, NoteEvent, NoteStatus
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream, drive
from tests.sandbox.helpers import nfe_payload, nfse_payload


def emit(actor: Actor, ref: str, doc_type: str = "nfe"):
    payload = nfe_payload(VALID_CNPJ) if doc_type == "nfe" else nfse_payload(VALID_CNPJ)
    return actor.client.post(f"/v2/{doc_type}?ref={ref}", payload, format="json")


@pytest.mark.parametrize(
    "mode,expected_posts",
    [
        ("5xx", 2),  # refused before processing: the read says 404, the POST is repeated
        ("reset", 2),  # connection reset before processing: same
        ("hang", 2),  # no answer and nothing processed: read, 404, POST again
        ("accept_then_hang", 1),  # processed, then no answer: the read finds it, no new POST
        ("malformed_json", 1),  # processed, answer unreadable: the read finds it
    ],
)
def test_ambiguous_submit_is_followed_by_a_read_and_never_duplicates(
    actor: Actor, empresa: Empresa, upstream: Upstream, mode: str, expected_posts: int
) -> None:
    upstream.fault(mode, count=1, methods=["POST"], path_prefix="/v2/nfe", hang_seconds=3)
    response = emit(actor, f"amb-{mode}")
    # The tenant is not told an error: the note is persisted and carries on in the background.
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "processando_autorizacao"
    note = Note.objects.get(ref=f"amb-{mode}")
    assert note.in_doubt and note.next_action == NextAction.SYNC

    note = drive(note, upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    counter = upstream.counter(note.upstream_ref)
    assert counter["documents_created"] == 1
    assert counter["duplicates"] == 0
    assert counter["posts"] == expected_posts
    # the timeline shows the failed call, then the read that decided what to do
    kinds = list(note.events.values_list("kind", flat=True))
    first_error = kinds.index(NoteEvent.Kind.UPSTREAM_ERROR)
    assert NoteEvent.Kind.UPSTREAM_ANSWER in kinds[first_error:]


def test_rate_limited_submit_waits_for_the_reset_and_is_not_in_doubt(
    actor: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    upstream.fault("429", count=1, methods=["POST"], path_prefix="/v2/nfe")
    assert emit(actor, "rl-1").status_code == 202
    note = Note.objects.get(ref="rl-1")
    # 429 means Focus did not take it: submit again later, no read needed.
    assert note.next_action == NextAction.SUBMIT and not note.in_doubt
    assert note.next_action_at is not None
    assert "RateLimited" in note.last_error
    # The token is blocked for everyone until Focus's reset: nothing is sent meanwhile.
    from fiscal import steps
    from fiscal.focus.budget import acquire
    from fiscal.focus.client import token_fingerprint

    fingerprint = token_fingerprint(empresa.token_homologacao)
    assert not acquire(fingerprint=fingerprint, tenant_id=actor.tenant.pk, urgent=True).allowed
    Note.objects.filter(pk=note.pk).update(next_action_at=timezone.now())
    for note_id, _action, token in steps.dispatch_due_notes():
        steps.note_run_step(note_id=note_id, token=token)
    assert upstream.counter(note.upstream_ref)["posts"] == 1  # the refused one only
    cache.clear()  # the window passes
    note = drive(note, upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    counter = upstream.counter(note.upstream_ref)
    assert counter["documents_created"] == 1 and counter["posts"] == 2


def test_focus_unreachable_keeps_the_note_and_submits_later(
    actor: Actor, empresa: Empresa, upstream: Upstream, settings
) -> None:
    from fiscal.focus.client import reset_clients

    real = settings.FOCUS_URL_HOMOLOGACAO
    settings.FOCUS_URL_HOMOLOGACAO = "http://127.0.0.1:1"  # nothing listens there
    reset_clients()
    assert emit(actor, "down-1").status_code == 202
    note = Note.objects.get(ref="down-1")
    # Nothing left our side: not in doubt, the POST itself is retried.
    assert note.next_action == NextAction.SUBMIT and not note.in_doubt
    settings.FOCUS_URL_HOMOLOGACAO = real
    reset_clients()
    note = drive(note, upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    assert upstream.counter(note.upstream_ref)["posts"] == 1


def test_failing_reads_are_retried_until_the_result_arrives(
    actor: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    assert emit(actor, "rd-1", "nfse").status_code == 202
    upstream.fault("5xx", count=2, methods=["GET"], path_prefix="/v2/nfse")
    upstream.fault("malformed_json", count=1, methods=["GET"], path_prefix="/v2/nfse")
    note = drive(Note.objects.get(ref="rd-1"), upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    assert note.sync_attempts >= 4
    assert upstream.counter(note.upstream_ref)["posts"] == 1


def test_a_second_post_of_a_held_ref_turns_into_a_read(
    actor: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    """Even if two steps raced, Focus's own ref rule answers the second POST and we read."""
    from fiscal import steps

    assert emit(actor, "race-1").status_code == 202
    note = Note.objects.get(ref="race-1")
    # Force a stale submit: pretend a worker lost its memory of the first POST.
    Note.objects.filter(pk=note.pk).update(next_action=NextAction.SUBMIT, in_doubt=False)
    token = steps.note_claim(note_id=note.pk, token=None) or ""
    Note.objects.filter(pk=note.pk).update(next_action_at=None)
    Note.objects.filter(pk=note.pk).update(claim_token=token)
    steps.note_run_step(note_id=note.pk, token=token)
    note = drive(note, upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    counter = upstream.counter(note.upstream_ref)
    assert counter["posts"] == 2 and counter["documents_created"] == 1


def test_statuses_never_move_backwards(actor: Actor, empresa: Empresa,
                                       upstream: Upstream) -> None:
    from django.db import transaction

    from fiscal.services import apply_upstream

    assert emit(actor, "mono-1").status_code == 202
    note = drive(Note.objects.get(ref="mono-1"), upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    with transaction.atomic():
        locked = Note.objects.select_for_update().get(pk=note.pk)
        applied = apply_upstream(locked, {"status": "processando_autorizacao"}, source="hook")
    assert applied is False
    note.refresh_from_db()
    assert note.status == NoteStatus.AUTORIZADO
    assert note.events.filter(message__startswith="ignored a stale").exists()


def test_a_note_that_outlives_focus_horizon_is_flagged_stuck_and_still_polled(
    actor: Actor, empresa: Empresa, upstream: Upstream, settings
) -> None:
    from fiscal import steps

    upstream.control.post("/sefaz", json={"uf": "PR", "down": True})
    assert emit(actor, "stuck-1").status_code == 202
    settings.FG_SYNC_HORIZON = 0
    note = Note.objects.get(ref="stuck-1")
    Note.objects.filter(pk=note.pk).update(next_action_at=timezone.now())
    for note_id, _action, token in steps.dispatch_due_notes():
        steps.note_run_step(note_id=note_id, token=token)
    note.refresh_from_db()
    assert note.status == NoteStatus.PROCESSANDO
    assert note.stuck_at is not None
    assert note.next_action == NextAction.SYNC  # the safety net keeps reading
    assert note.events.filter(kind=NoteEvent.Kind.STUCK).count() == 1
    stuck = actor.client.get("/api/v1/notes?stuck=true").json()["results"]
    assert [n["ref"] for n in stuck] == ["stuck-1"]
    # SEFAZ comes back: the note settles and is no longer stuck
    upstream.control.post("/sefaz", json={"uf": "PR", "down": False})
    note = drive(note, upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO and note.stuck_at is None
