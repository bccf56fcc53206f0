"""The work on a note: claiming its due step and running it (submit or sync) against Focus.

The rule that keeps fiscal documents unique (DESIGN.md §4): before a POST leaves, the note is
marked *in doubt* (next action ``sync``) in its own committed transaction. Whatever happens
next — an answer, a timeout, a reset, a worker killed mid-call — the next step is a read, and a
POST is repeated only when that read says 404, or ``erro_autorizacao`` for a ref the tenant
re-sent. Focus itself refuses a second POST of a ref it holds, which covers the last window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from core import statements
from core.claims import claim
from core.logging import log_bind
from fiscal.changes import ChangeType, FiscalChange, publish
from fiscal.focus.client import (
    FocusAnswer,
    FocusBudgetSpent,
    FocusClient,
    FocusMalformed,
    FocusNotFound,
    FocusNotSent,
    FocusRateLimited,
    FocusRejected,
    FocusTimeout,
    FocusUnavailable,
    FocusUpstreamError,
)
from fiscal.models import FocusHook, NextAction, Note, NoteEvent, NoteStatus
from fiscal.render import note_consulta
from fiscal.services import (
    UPSTREAM_FIELDS,
    apply_upstream,
    claim_with_event,
    new_claim_token,
    note_event,
    now,
    redacted_body,
    still_pending,
    timeline_batch,
    timeline_save,
)

# What a step's answer writes besides apply_upstream's columns (one UPDATE, not the whole row).
_STEP_FIELDS = (*UPSTREAM_FIELDS, "in_doubt", "focus_refused", "claim_token", "priority")

# Focus codes that, answered to a POST, mean "I already hold this ref": read it instead.
ALREADY_HELD = {"em_processamento", "nfe_autorizada", "ja_autorizada", "nfe_cancelada"}




# --- claims -----------------------------------------------------------------------------------

def note_claim(*, note_id: int, token: str | None = None) -> str | None:
    """Claim a note's due step. With ``token``, re-take a claim handed over by the fast path.

    The lease outlives any Focus call, so a claim only expires when its worker is gone.
    """
    lease = now() + timedelta(seconds=settings.FG_CLAIM_LEASE)
    where = {"claim_token": token} if token else {"next_action_at__lte": now()}
    new_token = token or new_claim_token()
    if not claim(Note.objects.exclude(next_action=NextAction.NONE), note_id, where=where,
                 claim_token=new_token, next_action_at=lease):
        return None
    return new_token


def dispatch_due_notes(*, limit: int = 200) -> list[tuple[int, str, str]]:
    """Claim due notes (urgent first) and return (note id, action, token) to enqueue."""
    due = list(
        Note.objects.filter(
            next_action__in=[NextAction.SUBMIT, NextAction.SYNC], next_action_at__lte=now()
        )
        .order_by("-priority", "next_action_at")
        .values_list("pk", "next_action", "next_action_at")[:limit]
    )
    lease = now() + timedelta(seconds=settings.FG_CLAIM_LEASE)
    claimed = []
    for pk, action, at in due:
        token = new_claim_token()
        # Conditional: only if nobody moved the row since we read it.
        if claim(Note, pk, where={"next_action": action, "next_action_at": at},
                 claim_token=token, next_action_at=lease):
            claimed.append((pk, action, token))
    return claimed


# --- the steps --------------------------------------------------------------------------------

@dataclass
class StepResult:
    """What one step learned; the facade renders it when the step ran inline."""

    note: Note
    # Focus's own answer to a POST (status code, body) when it gave one.
    upstream_status: int | None = None
    upstream_body: Any = None


def note_run_step(*, note_id: int, token: str, timeout: float | None = None,
                  urgent: bool | None = None, note: Note | None = None) -> StepResult:
    """Run the claimed step of a note (submit or sync). Idempotent: a stale token does nothing.

    ``note``: the note as its accept has just written it, with its company's token and its
    tenant (the inline submit): not read again. The write-ahead claim checks the token in the
    database all the same."""
    note = note or _STEP_NOTE.one(pk=note_id)
    if note is None:
        raise Note.DoesNotExist(f"note {note_id}")
    log_bind(note_id=note.pk, tenant_id=note.tenant_id, upstream_ref=note.upstream_ref)
    if note.claim_token != token:
        return StepResult(note=note)
    urgent = (note.priority > 0) if urgent is None else urgent
    client = FocusClient(
        environment=note.environment,
        token=note.empresa.focus_token(note.environment),
        tenant_id=note.tenant_id,
        urgent=urgent,
        timeout=timeout,
    )
    try:
        if note.next_action == NextAction.SUBMIT and not note.in_doubt:
            return _submit(note, token, client)
        return _sync(note, token, client)
    except FocusBudgetSpent as exc:
        # Nothing was sent nor marked: the token has no request left in this minute.
        _release(note, token, note.next_action, delay=exc.retry_after,
                 error="waiting for the Focus token's rate limit")
        return _reloaded(note)
    except FocusNotSent:
        return _reloaded(note)


def _release(note: Note, token: str, action: str, *, delay: float, error: str = "",
             **fields: Any) -> bool:
    """Hand the note back to the schedule: ``action`` due in ``delay`` seconds."""
    return claim(
        Note, note.pk, where={"claim_token": token},
        claim_token="", next_action=action,
        next_action_at=now() + timedelta(seconds=max(delay, 0)), last_error=error[:1000],
        **fields,
    )


# The note again, locked for the answer's transaction: its row only, and not its payload (the
# answer never reads the document sent; one more JSON body to load). Compiled once per process,
# as the step's first read (core.statements).
_LOCKED = statements.PreparedSelect(
    lambda pk: Note.objects.select_for_update().defer("payload").filter(pk=pk), pk=-7_000_003,
)
_STEP_NOTE = statements.PreparedSelect(
    lambda pk: Note.objects.select_related("empresa", "tenant").filter(pk=pk), pk=-7_000_004,
)


def _lock(note: Note) -> Note:
    locked = _LOCKED.one(pk=note.pk)
    if locked is None:
        raise Note.DoesNotExist(f"note {note.pk}")
    # The company and tenant the step read moments ago (the subscribers and the first poll's
    # delay need them). Their rows were never locked with the note's, so notes of one tenant
    # never queue behind each other, and reading them again would only cost another join.
    locked.empresa, locked.tenant = note.empresa, note.tenant
    return locked


def _submit(note: Note, token: str, client: FocusClient) -> StepResult:
    def write_ahead() -> bool:
        # From here on, until Focus answers, the note is in doubt and the next step anyone
        # takes is a read. Committed just before the request leaves, with its "submitted"
        # row (one statement on Postgres: claim_with_event).
        attempt = note.submit_attempts + 1
        submitted = NoteEvent(note=note, kind=NoteEvent.Kind.SUBMITTED,
                              message="sent to Focus",
                              data={"attempt": attempt, "upstream_ref": note.upstream_ref})
        return claim_with_event(note, where={"claim_token": token}, event=submitted,
                                in_doubt=True, next_action=NextAction.SYNC,
                                submit_attempts=attempt, submitted_at=now())

    try:
        response = _post(client, note, write_ahead)
    except FocusBudgetSpent:
        raise
    except FocusRateLimited as exc:
        _upstream_failed(note, token, exc, action=NextAction.SUBMIT, delay=exc.retry_after,
                         in_doubt=False)
        return _reloaded(note)
    except FocusUnavailable as exc:
        if exc.sent:
            _upstream_failed(note, token, exc, action=NextAction.SYNC,
                             delay=_retry_delay(note.submit_attempts))
        else:
            _upstream_failed(note, token, exc, action=NextAction.SUBMIT,
                             delay=_retry_delay(note.submit_attempts), in_doubt=False)
        return _reloaded(note)
    except (FocusTimeout, FocusMalformed) as exc:
        _upstream_failed(note, token, exc, action=NextAction.SYNC,
                         delay=_retry_delay(note.submit_attempts))
        return _reloaded(note)
    except FocusRejected as exc:
        return _submit_rejected(note, token, exc)
    body = response.data
    with transaction.atomic(), timeline_batch():
        locked = _lock(note)
        note_event(locked, NoteEvent.Kind.UPSTREAM_ANSWER, "Focus answered the POST",
                   status_code=response.status_code, body=redacted_body(body),
                   ms=round(response.duration_ms))
        locked.in_doubt = False
        locked.focus_refused = False
        apply_upstream(locked, body, source="submit", save=False)
        if locked.claim_token == token:
            locked.claim_token = ""
            if locked.status == NoteStatus.PROCESSANDO or still_pending(locked):
                locked.next_action = NextAction.SYNC
                locked.next_action_at = now() + timedelta(seconds=_first_sync_delay(locked))
                locked.priority = 0
        timeline_save(locked, update_fields=_STEP_FIELDS)
    return StepResult(note=locked, upstream_status=response.status_code, upstream_body=body)


def _post(client: FocusClient, note: Note, before_send: Callable[[], bool]) -> FocusAnswer:
    """The note's POST: an emission, or the XML of an importação (fiscal/importacao.py)."""
    if note.payload.get("importacao"):
        return client.import_xml(note.upstream_ref, note.payload["xml"].encode(),
                                 before_send=before_send)
    return client.emit(note.doc_type, note.upstream_ref, note.payload,
                       params=note.upstream_params or None, before_send=before_send)


def _submit_rejected(note: Note, token: str, exc: FocusRejected) -> StepResult:
    if exc.codigo in ALREADY_HELD:
        # Focus holds this ref already (an earlier POST landed): learn its status by reading.
        _upstream_failed(note, token, exc, action=NextAction.SYNC, delay=0)
        return _reloaded(note)
    # Focus refused the document itself (its first validation): no fiscal document exists,
    # the ref may be sent again. The tenant sees Focus's own answer.
    with transaction.atomic():
        locked = Note.objects.select_for_update().get(pk=note.pk)
        note_event(locked, NoteEvent.Kind.UPSTREAM_ANSWER, "Focus refused the POST",
                   status_code=exc.status_code, body=redacted_body(exc.body))
        locked.in_doubt = False
        body = {"status": NoteStatus.ERRO_AUTORIZACAO, "mensagem_sefaz": exc.mensagem,
                "erros": exc.erros or [{"codigo": exc.codigo, "mensagem": exc.mensagem}]}
        apply_upstream(locked, body, source="submit", keep_upstream=True)
        locked.focus_refused = True
        if locked.claim_token == token:
            locked.claim_token = ""
            locked.next_action = NextAction.NONE
            locked.next_action_at = None
        locked.save()
    return StepResult(note=locked, upstream_status=exc.status_code, upstream_body=exc.body)


def _sync(note: Note, token: str, client: FocusClient) -> StepResult:
    def count_attempt() -> bool:
        claim(Note, note.pk, where={"claim_token": token},
              sync_attempts=note.sync_attempts + 1)
        note.sync_attempts += 1
        return True

    try:
        response = client.consult(note.doc_type, note.upstream_ref, completa=True,
                                  before_send=count_attempt)
    except FocusBudgetSpent:
        raise
    except FocusNotFound:
        # Focus does not have it: the POST never landed. Sending it now cannot duplicate.
        with transaction.atomic():
            note_event(note, NoteEvent.Kind.UPSTREAM_ANSWER, "Focus does not have the note",
                       status_code=404)
            _release(note, token, NextAction.SUBMIT, delay=0, in_doubt=False, priority=1)
        return _reloaded(note)
    except FocusRateLimited as exc:
        _upstream_failed(note, token, exc, action=NextAction.SYNC, delay=exc.retry_after)
        return _reloaded(note)
    except FocusUpstreamError as exc:
        _upstream_failed(note, token, exc, action=NextAction.SYNC,
                         delay=_retry_delay(note.sync_attempts))
        return _reloaded(note)
    body = response.data
    with transaction.atomic(), timeline_batch():
        locked = _lock(note)
        note_event(locked, NoteEvent.Kind.UPSTREAM_ANSWER, "Focus answered the read",
                   status_code=response.status_code, status=body.get("status"),
                   ms=round(response.duration_ms))
        upstream_status = body.get("status")
        resend = (
            locked.in_doubt
            and upstream_status == NoteStatus.ERRO_AUTORIZACAO
            and locked.tenant_attempt > 1
        )
        if resend:
            # The read may show the rejection of the tenant's earlier try, not of this one:
            # send again (no fiscal document exists under an erro_autorizacao ref).
            if locked.claim_token == token:
                locked.claim_token = ""
                locked.in_doubt = False
                locked.next_action = NextAction.SUBMIT
                locked.next_action_at = now()
                locked.save()
            return StepResult(note=locked)
        locked.in_doubt = False
        apply_upstream(locked, body, source="sync", save=False)
        if locked.claim_token == token:
            locked.claim_token = ""
            if locked.status == NoteStatus.PROCESSANDO or still_pending(locked):
                _schedule_next_sync(locked)
            else:
                locked.next_action = NextAction.NONE
                locked.next_action_at = None
                locked.priority = 0
        timeline_save(locked, update_fields=_STEP_FIELDS)
    return StepResult(note=locked)


def _schedule_next_sync(note: Note) -> None:
    age = (now() - (note.submitted_at or note.created_at)).total_seconds()
    if age > settings.FG_SYNC_HORIZON and note.stuck_at is None:
        note.stuck_at = now()
        note_event(note, NoteEvent.Kind.STUCK,
                   f"no final status after {settings.FG_SYNC_HORIZON // 86400} days")
        publish(FiscalChange(type=ChangeType.NOTE_STUCK, tenant=note.tenant,
                             empresa=note.empresa, data=note_consulta(note), note=note))
    note.next_action = NextAction.SYNC
    note.priority = 0
    note.next_action_at = now() + timedelta(seconds=_sync_delay(note.sync_attempts))


def _reloaded(note: Note) -> StepResult:
    note.refresh_from_db()
    return StepResult(note=note)


def _upstream_failed(note: Note, token: str, exc: FocusUpstreamError, *, action: str,
                     delay: float, in_doubt: bool | None = None) -> None:
    fields: dict[str, Any] = {}
    if in_doubt is not None:
        fields["in_doubt"] = in_doubt
    with transaction.atomic():
        note_event(note, NoteEvent.Kind.UPSTREAM_ERROR, str(exc)[:500],
                   error=type(exc).__name__, sent=exc.sent, next_action=action)
        _release(note, token, action, delay=delay, error=f"{type(exc).__name__}: {exc}",
                 **fields)


def _retry_delay(attempt: int) -> float:
    schedule = settings.FG_RETRY_SCHEDULE
    return schedule[min(max(attempt - 1, 0), len(schedule) - 1)]


def _sync_delay(attempt: int) -> float:
    schedule = settings.FG_SYNC_SCHEDULE
    return schedule[min(max(attempt - 1, 0), len(schedule) - 1)]


# (empresa, environment, event, token fingerprint) -> (hooked?, time.monotonic() asked).
_hooked_seen: dict[tuple[int, str, str, str], tuple[bool, float]] = {}
# How long an answer is kept: a hook registered, lost or replaced is noticed this much later,
# which only moves one note's first poll (the dispatcher reads the note anyway).
_HOOKED_TTL = 10.0


def _first_sync_delay(note: Note) -> float:
    """With our hooks registered at Focus, the first poll waits for the hook to arrive."""
    # The company's current token is part of the key: a replaced token is seen at once.
    key = (note.empresa_id, note.environment, _hook_event(note),
           note.empresa.focus_token_fingerprint(note.environment))
    seen = _hooked_seen.get(key)
    if seen is not None and time.monotonic() - seen[1] < _HOOKED_TTL:
        hooked = seen[0]
    else:
        # A hook of a replaced token is refused on arrival (fiscal.hooks): it does not count.
        # Compared in the same query (a join), not by loading the company.
        current = f"empresa__token_{note.environment}_fingerprint"
        hooked = FocusHook.objects.filter(
            empresa_id=note.empresa_id, environment=note.environment, event=key[2],
            is_active=True, **{current: F("token_fingerprint")},
        ).exclude(focus_id="").exclude(token_fingerprint="").exists()
        _hooked_seen[key] = (hooked, time.monotonic())
    return settings.FG_SYNC_FIRST_DELAY_HOOKED if hooked else settings.FG_SYNC_FIRST_DELAY


def _hook_event(note: Note) -> str:
    return "nfe" if note.doc_type in ("nfe", "nfce") else note.doc_type
