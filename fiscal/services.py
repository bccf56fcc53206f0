"""Every write to notes: creation, the submit / sync steps, applying what Focus says.

The rule that keeps fiscal documents unique (DESIGN.md §4): before a POST leaves, the note is
marked *in doubt* (next action ``sync``) in its own committed transaction. Whatever happens
next — an answer, a timeout, a reset, a worker killed mid-call — the next step is a read, and a
POST is repeated only when that read says 404, or ``erro_autorizacao`` for a ref the tenant
re-sent. Focus itself refuses a second POST of a ref it holds, which covers the last window.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.errors import FocusError
from core.logging import log_bind
from fiscal.changes import ChangeType, FiscalChange, publish
from fiscal.focus import budget
from fiscal.focus.client import (
    FocusClient,
    FocusMalformed,
    FocusNotFound,
    FocusRateLimited,
    FocusRejected,
    FocusResponse,
    FocusTimeout,
    FocusUnavailable,
    FocusUpstreamError,
)
from fiscal.models import (
    ALLOWED_TRANSITIONS,
    FINAL_STATUSES,
    FocusHook,
    NextAction,
    Note,
    NoteEvent,
    NoteStatus,
)
from fiscal.render import note_consulta
from fiscal.validation import validate_document, validate_ref
from tenants.models import ApiKey, Empresa, Tenant

logger = logging.getLogger("fiscal.hooks")
notes_log = logging.getLogger("fiscal.notes")  # one INFO line per timeline row: what changed

# Focus codes that, answered to a POST, mean "I already hold this ref": read it instead.
ALREADY_HELD = {"em_processamento", "nfe_autorizada", "ja_autorizada", "nfe_cancelada"}

STATUS_CHANGES = {
    NoteStatus.AUTORIZADO: ChangeType.NOTE_AUTHORIZED,
    NoteStatus.ERRO_AUTORIZACAO: ChangeType.NOTE_REJECTED,
    NoteStatus.DENEGADO: ChangeType.NOTE_DENIED,
    NoteStatus.CANCELADO: ChangeType.NOTE_CANCELLED,
    NoteStatus.SUBSTITUIDO: ChangeType.NOTE_REPLACED,
}

# Fields of a Focus consulta body kept in columns (the whole body is kept in Note.upstream).
_COLUMNS = {
    "status_sefaz": "status_sefaz",
    "mensagem_sefaz": "mensagem_sefaz",
    "chave_nfe": "chave",
    "chave": "chave",
    "numero": "numero",
    "serie": "serie",
    "protocolo": "protocolo",
    "numero_protocolo": "protocolo",
    "codigo_verificacao": "codigo_verificacao",
}


def now() -> datetime:
    return timezone.now()


def _new_token() -> str:
    return secrets.token_hex(16)


def note_event(note: Note, kind: str, message: str = "", **data: Any) -> NoteEvent:
    event = NoteEvent.objects.create(note=note, kind=kind, message=message, data=data)
    notes_log.info("note %s %s: %s", note.pk, kind, message, extra={
        "note_id": note.pk, "tenant_id": note.tenant_id, "upstream_ref": note.upstream_ref})
    return event


def redacted_body(body: Any) -> Any:
    """What of an upstream answer goes into the timeline: bounded, no secrets inside."""
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if not k.startswith(("token", "requisicao_"))}
    return body


# --- creation ---------------------------------------------------------------------------------

def empresa_for_document(*, tenant: Tenant, doc_type: str, document: str) -> Empresa:
    """The tenant's company that emits this document, enabled for the type (Focus's errors)."""
    field = "cpf" if len(document) == 11 else "cnpj"
    # The tokens are for the worker: not decrypted on the accept path.
    empresa = (Empresa.objects.defer("token_homologacao", "token_producao")
               .filter(tenant=tenant, **{field: document})[:1])
    empresa = next(iter(empresa), None)
    if empresa is None:
        # Reference: focus-nfe-api-v2.txt, "403 permissao_negada CNPJ do emitente não autorizado".
        raise FocusError(
            "permissao_negada",
            "CNPJ do emitente não autorizado. O emitente utilizado não está autorizado a "
            "emitir com este token ou foi informado incorretamente no JSON.",
            status_code=403,
        )
    if not empresa.enabled_for(doc_type):
        raise FocusError(
            "empresa_nao_habilitada",
            f"Empresa ainda não habilitada para emitir {doc_type.upper()}.",
        )
    if empresa.certificate_expired():
        # Reference: _nfe.md / _nfce.md / _nfse.md / _nfsen.md status tables (FocusNFe/api-doc).
        raise FocusError("certificado_vencido", "O certificado do emitente está vencido")
    return empresa


@dataclass
class Accepted:
    note: Note
    claim_token: str


def note_accept(*, api_key: ApiKey, doc_type: str, ref: str | None, payload: Any,
                params: dict[str, str] | None = None) -> Accepted:
    """Validate, find the company, apply the ref rules and persist the note, claimed for submit.

    One transaction writes the Note and its "created" event; nothing is sent yet.
    """
    ref = validate_ref(ref)
    _, document = validate_document(doc_type, payload)
    tenant = api_key.tenant
    empresa = empresa_for_document(tenant=tenant, doc_type=doc_type, document=document)
    token = _new_token()
    lease_until = now() + timedelta(seconds=settings.FG_FASTPATH_GRACE)
    key = {"tenant": tenant, "environment": api_key.environment, "doc_type": doc_type, "ref": ref}
    try:
        # The common case is a new ref: insert straight away and let the unique constraint
        # say when it is not (no read first, no race between the read and the insert).
        with transaction.atomic():
            note = Note.objects.create(
                **key,
                empresa=empresa,
                upstream_ref=f"fg{secrets.token_hex(12)}",
                payload=payload,
                upstream_params=params or {},
                next_action=NextAction.SUBMIT,
                next_action_at=lease_until,
                claim_token=token,
                priority=1,
            )
            note_event(note, NoteEvent.Kind.CREATED, "accepted from the tenant",
                       api_key=api_key.display_prefix)
        return Accepted(note, token)
    except IntegrityError:
        pass
    with transaction.atomic():
        existing = Note.objects.select_for_update().filter(**key).first()
        if existing is None:  # deleted in between: cannot happen to notes, but be exact
            raise ref_in_use_error(NoteStatus.PROCESSANDO)
        existing.upstream_params = params or {}
        return Accepted(_resend(existing, empresa, payload, token, lease_until), token)


def ref_in_use_error(status: str) -> FocusError:
    if status == NoteStatus.PROCESSANDO:
        return FocusError("em_processamento", "Nota fiscal já em processamento", status_code=422)
    return FocusError("nfe_autorizada", f"Nota fiscal já {status}", status_code=422)


def _resend(note: Note, empresa: Empresa, payload: dict, token: str,
            lease_until: datetime) -> Note:
    """Focus's rule: a ref may be sent again only after erro_autorizacao; same row, new try."""
    if note.status != NoteStatus.ERRO_AUTORIZACAO or note.next_action:
        raise ref_in_use_error(note.status)
    previous = {
        "attempt": note.tenant_attempt,
        "status_sefaz": note.status_sefaz,
        "mensagem_sefaz": note.mensagem_sefaz,
        "erros": note.erros,
    }
    note.empresa = empresa
    note.payload = payload
    note.status = NoteStatus.PROCESSANDO
    note.status_sefaz = ""
    note.mensagem_sefaz = ""
    note.erros = None
    note.tenant_attempt += 1
    note.next_action = NextAction.SUBMIT
    note.next_action_at = lease_until
    note.claim_token = token
    note.priority = 1
    note.settled_at = None
    note.stuck_at = None
    note.submit_attempts = 0
    note.sync_attempts = 0
    note.save()
    note_event(note, NoteEvent.Kind.RESENT, "sent again after erro_autorizacao",
               previous_attempt=previous)
    return note


# --- claims -----------------------------------------------------------------------------------

def note_claim(*, note_id: int, token: str | None = None) -> str | None:
    """Claim a note's due step. With ``token``, re-take a claim handed over by the fast path.

    The lease outlives any Focus call, so a claim only expires when its worker is gone.
    """
    lease = now() + timedelta(seconds=settings.FG_CLAIM_LEASE)
    qs = Note.objects.filter(pk=note_id).exclude(next_action=NextAction.NONE)
    qs = qs.filter(claim_token=token) if token else qs.filter(next_action_at__lte=now())
    new_token = token or _new_token()
    if qs.update(claim_token=new_token, next_action_at=lease) != 1:
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
        token = _new_token()
        # Conditional: only if nobody moved the row since we read it.
        if Note.objects.filter(pk=pk, next_action=action, next_action_at=at).update(
            claim_token=token, next_action_at=lease
        ) == 1:
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
                  urgent: bool | None = None) -> StepResult:
    """Run the claimed step of a note (submit or sync). Idempotent: a stale token does nothing."""
    note = Note.objects.select_related("empresa", "tenant").get(pk=note_id)
    log_bind(note_id=note.pk, tenant_id=note.tenant_id, upstream_ref=note.upstream_ref)
    if note.claim_token != token:
        return StepResult(note=note)
    urgent = (note.priority > 0) if urgent is None else urgent
    client = FocusClient(
        environment=note.environment,
        token=note.empresa.focus_token(note.environment),
        timeout=timeout,
    )
    decision = budget.acquire(
        fingerprint=client.fingerprint, tenant_id=note.tenant_id, urgent=urgent
    )
    if not decision.allowed:
        _release(note, token, note.next_action, delay=decision.retry_after,
                 error="waiting for the Focus token's request budget")
        note.refresh_from_db()
        return StepResult(note=note)
    if note.next_action == NextAction.SUBMIT and not note.in_doubt:
        return _submit(note, token, client)
    return _sync(note, token, client)


def _release(note: Note, token: str, action: str, *, delay: float, error: str = "",
             **fields: Any) -> bool:
    """Hand the note back to the schedule: ``action`` due in ``delay`` seconds."""
    return Note.objects.filter(pk=note.pk, claim_token=token).update(
        claim_token="", next_action=action,
        next_action_at=now() + timedelta(seconds=max(delay, 0)), last_error=error[:1000],
        **fields,
    ) == 1


def _submit(note: Note, token: str, client: FocusClient) -> StepResult:
    # Write-ahead: from here on, until Focus answers, the note is in doubt and the next step
    # anyone takes is a read. Committed before the request leaves.
    marked = Note.objects.filter(pk=note.pk, claim_token=token).update(
        in_doubt=True, next_action=NextAction.SYNC,
        submit_attempts=note.submit_attempts + 1, submitted_at=now(),
    )
    if marked != 1:
        return StepResult(note=note)
    note.submit_attempts += 1
    note_event(note, NoteEvent.Kind.SUBMITTED, f"POST /v2/{note.doc_type}",
               attempt=note.submit_attempts, upstream_ref=note.upstream_ref)
    try:
        response = _post(client, note)
    except FocusRateLimited as exc:
        budget.observe(fingerprint=client.fingerprint, remaining=0, reset=exc.retry_after)
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
    _observe(client, response)
    body = response.body if isinstance(response.body, dict) else {}
    with transaction.atomic():
        locked = Note.objects.select_for_update().get(pk=note.pk)
        note_event(locked, NoteEvent.Kind.UPSTREAM_ANSWER, "Focus answered the POST",
                   status_code=response.status_code, body=redacted_body(body),
                   ms=round(response.duration_ms))
        locked.in_doubt = False
        apply_upstream(locked, body, source="submit")
        if locked.claim_token == token:
            locked.claim_token = ""
            if locked.status == NoteStatus.PROCESSANDO or _still_pending(locked):
                locked.next_action = NextAction.SYNC
                locked.next_action_at = now() + timedelta(seconds=_first_sync_delay(locked))
                locked.priority = 0
        locked.save()
    return StepResult(note=locked, upstream_status=response.status_code, upstream_body=body)


def _post(client: FocusClient, note: Note) -> FocusResponse:
    """The note's POST: an emission, or the XML of an importação (fiscal/extras.py)."""
    if not note.payload.get("importacao"):
        return client.emit(note.doc_type, note.upstream_ref, note.payload,
                           params=note.upstream_params or None)
    raw = client.request_raw("POST", "/v2/nfe/importacao", params={"ref": note.upstream_ref},
                             content=note.payload["xml"].encode(), content_type="application/xml")
    try:
        body = json.loads(raw.content) if raw.content else {}
    except ValueError:
        raise FocusMalformed("Focus answered the importação with a body that is not JSON"
                             ) from None
    return FocusResponse(status_code=raw.status_code, body=body, duration_ms=0.0,
                         rate_limit=raw.rate_limit)


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
        if locked.claim_token == token:
            locked.claim_token = ""
            locked.next_action = NextAction.NONE
            locked.next_action_at = None
        locked.save()
    return StepResult(note=locked, upstream_status=exc.status_code, upstream_body=exc.body)


def _sync(note: Note, token: str, client: FocusClient) -> StepResult:
    Note.objects.filter(pk=note.pk, claim_token=token).update(
        sync_attempts=note.sync_attempts + 1
    )
    note.sync_attempts += 1
    try:
        response = client.consult(note.doc_type, note.upstream_ref, completa=True)
    except FocusNotFound:
        # Focus does not have it: the POST never landed. Sending it now cannot duplicate.
        with transaction.atomic():
            note_event(note, NoteEvent.Kind.UPSTREAM_ANSWER, "Focus does not have the note",
                       status_code=404)
            _release(note, token, NextAction.SUBMIT, delay=0, in_doubt=False, priority=1)
        return _reloaded(note)
    except FocusRateLimited as exc:
        budget.observe(fingerprint=client.fingerprint, remaining=0, reset=exc.retry_after)
        _upstream_failed(note, token, exc, action=NextAction.SYNC, delay=exc.retry_after)
        return _reloaded(note)
    except FocusUpstreamError as exc:
        _upstream_failed(note, token, exc, action=NextAction.SYNC,
                         delay=_retry_delay(note.sync_attempts))
        return _reloaded(note)
    _observe(client, response)
    body = response.body if isinstance(response.body, dict) else {}
    with transaction.atomic():
        locked = Note.objects.select_for_update().get(pk=note.pk)
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
        apply_upstream(locked, body, source="sync")
        if locked.claim_token == token:
            locked.claim_token = ""
            if locked.status == NoteStatus.PROCESSANDO or _still_pending(locked):
                _schedule_next_sync(locked)
            else:
                locked.next_action = NextAction.NONE
                locked.next_action_at = None
                locked.priority = 0
        locked.save()
    return StepResult(note=locked)


def _still_pending(note: Note) -> bool:
    """An authorized NFCe in offline contingency keeps being read until it is made effective."""
    return bool(note.contingencia_offline) and not note.contingencia_offline_efetivada and (
        note.status == NoteStatus.AUTORIZADO
    )


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


def _observe(client: FocusClient, response: FocusResponse) -> None:
    if response.rate_limit:
        budget.observe(fingerprint=client.fingerprint,
                       remaining=response.rate_limit.remaining, reset=response.rate_limit.reset)


def _retry_delay(attempt: int) -> float:
    schedule = settings.FG_RETRY_SCHEDULE
    return schedule[min(max(attempt - 1, 0), len(schedule) - 1)]


def _sync_delay(attempt: int) -> float:
    schedule = settings.FG_SYNC_SCHEDULE
    return schedule[min(max(attempt - 1, 0), len(schedule) - 1)]


def _first_sync_delay(note: Note) -> float:
    """With our hooks registered at Focus, the first poll waits for the hook to arrive."""
    # A hook of a replaced token is refused on arrival (fiscal.hooks): it does not count.
    # Compared in the same query (a join), not by loading the company.
    current = f"empresa__token_{note.environment}_fingerprint"
    hooked = FocusHook.objects.filter(
        empresa_id=note.empresa_id, environment=note.environment, event=_hook_event(note),
        is_active=True, **{current: F("token_fingerprint")},
    ).exclude(focus_id="").exclude(token_fingerprint="").exists()
    return settings.FG_SYNC_FIRST_DELAY_HOOKED if hooked else settings.FG_SYNC_FIRST_DELAY


def _hook_event(note: Note) -> str:
    return "nfe" if note.doc_type in ("nfe", "nfce") else note.doc_type


# --- applying what Focus says -------------------------------------------------------------------

def apply_upstream(note: Note, body: dict[str, Any], *, source: str,
                   keep_upstream: bool = False) -> bool:
    """Apply a Focus consulta body (answer, read or hook) to a locked note; publish changes.

    Statuses never move backwards: a body whose status is not an allowed successor of the
    note's is recorded in the timeline and otherwise ignored. Returns True when applied.
    """
    new_status = body.get("status")
    old_status = note.status
    if new_status and new_status != old_status:
        if new_status not in ALLOWED_TRANSITIONS:
            # e.g. erro_cancelamento: an answer about an operation, not a note status.
            new_status = old_status
        elif new_status not in ALLOWED_TRANSITIONS[old_status]:
            note_event(note, NoteEvent.Kind.UPSTREAM_ANSWER,
                       f"ignored a stale {new_status} answer (note is {old_status})",
                       source=source)
            return False
    before = {
        "contingencia_offline": note.contingencia_offline,
        "contingencia_offline_efetivada": note.contingencia_offline_efetivada,
        "tentativa_anterior": note.tentativa_anterior,
    }
    if not keep_upstream:
        note.upstream = {**(note.upstream or {}), **body}
    for key, column in _COLUMNS.items():
        if body.get(key) not in (None, ""):
            setattr(note, column, str(body[key]))
    # Focus writes chave_nfe as "NFe" + the 44 digits; the column keeps the 44 digits.
    note.chave = note.chave.removeprefix("NFe")
    protocolo = (body.get("protocolo_nota_fiscal") or {}).get("numero_protocolo") if isinstance(
        body.get("protocolo_nota_fiscal"), dict) else None
    if protocolo:
        note.protocolo = str(protocolo)
    if "erros" in body:
        note.erros = body["erros"]
    for flag in ("contingencia_offline", "contingencia_offline_efetivada"):
        if flag in body:
            setattr(note, flag, bool(body[flag]))
    if isinstance(body.get("tentativa_anterior"), dict):
        note.tentativa_anterior = body["tentativa_anterior"]
    if isinstance(body.get("tentativas_anteriores"), list):
        note.tentativas_anteriores = body["tentativas_anteriores"]
    if new_status:
        note.status = new_status
    changed = note.status != old_status
    if changed:
        note_event(note, NoteEvent.Kind.STATUS_CHANGED, f"{old_status} -> {note.status}",
                   source=source, status_sefaz=note.status_sefaz,
                   mensagem_sefaz=note.mensagem_sefaz[:500])
        if note.status in FINAL_STATUSES:
            note.settled_at = now()
            note.stuck_at = None
            if note.status == NoteStatus.AUTORIZADO and note.authorized_at is None:
                note.authorized_at = now()
            if not _still_pending(note) and note.next_action == NextAction.SYNC:
                note.next_action = NextAction.NONE
                note.next_action_at = None
    note.save()
    for change_type in _changes(note, old_status, before, changed):
        if change_type in _CONTINGENCY_MESSAGES:
            # Surfaced, not hidden: contingency and earlier attempts go on the timeline.
            note_event(note, NoteEvent.Kind.STATUS_CHANGED, _CONTINGENCY_MESSAGES[change_type],
                       source=source, tentativa_anterior=note.tentativa_anterior,
                       tentativas_anteriores=note.tentativas_anteriores or None)
        publish(FiscalChange(type=change_type, tenant=note.tenant, empresa=note.empresa,
                             data=note_consulta(note), note=note))
    return True


_CONTINGENCY_MESSAGES = {
    ChangeType.CONTINGENCY_STARTED: "issued in offline contingency (not yet sent to SEFAZ)",
    ChangeType.CONTINGENCY_EFFECTIVE: "offline contingency made effective at SEFAZ",
    ChangeType.PREVIOUS_ATTEMPT_CANCELLED: "Focus cancelled an earlier attempt of this note "
                                           "(numbering gap)",
}


def _changes(note: Note, old_status: str, before: dict[str, Any], changed: bool) -> list[str]:
    changes = []
    if changed and note.status in STATUS_CHANGES:
        changes.append(STATUS_CHANGES[note.status])
    if note.contingencia_offline and not before["contingencia_offline"]:
        changes.append(ChangeType.CONTINGENCY_STARTED)
    if note.contingencia_offline_efetivada and not before["contingencia_offline_efetivada"]:
        changes.append(ChangeType.CONTINGENCY_EFFECTIVE)
    if note.tentativa_anterior and note.tentativa_anterior != before["tentativa_anterior"]:
        changes.append(ChangeType.PREVIOUS_ATTEMPT_CANCELLED)
    return changes


# A hook may settle a note that waits on Focus with one of these; anything else it says about a
# note (a settled note changing, a note in processing "cancelled") is confirmed by a read.
_HOOK_SETTLES = frozenset({
    NoteStatus.AUTORIZADO, NoteStatus.ERRO_AUTORIZACAO, NoteStatus.DENEGADO,
})
# How many refused deliveries a hook keeps for the staff (FocusHook.refused_log).
HOOK_LOG_SIZE = 20


def note_apply_hook(*, hook: FocusHook, body: dict[str, Any]) -> Note | None:
    """A Focus hook delivery, applied only as far as a hook is believed.

    - Only a note of the hook's own company and environment can be named; any other ref
      changes nothing and is recorded on the hook (``hook_record_refusal``).
    - A note waiting on Focus (processando_autorizacao) is settled from the body: the normal
      path, with no read added.
    - Anything else the body would change (``autorizado`` to ``cancelado``, a note in processing
      said to be cancelled, contingency flags of an authorized NFCe) is not applied: the note
      is read from Focus at once and only Focus's answer is applied. A body with nothing new
      (a repeated delivery) is recorded and nothing more. Our own operations (a cancel) apply
      their own answers; a hook saying the same then finds nothing new.
    """
    ref = str(body.get("ref") or "")
    status = body.get("status")
    with transaction.atomic():
        note = (
            Note.objects.select_for_update()
            .select_related("tenant", "empresa")
            .filter(upstream_ref=ref, empresa_id=hook.empresa_id, environment=hook.environment)
            .first()
        )
        if note is None:
            reason = ("other_company_or_environment"
                      if ref and Note.objects.filter(upstream_ref=ref).exists() else "unknown_ref")
            hook_record_refusal(hook=hook, body=body, reason=reason)
            return None
        FocusHook.objects.filter(pk=hook.pk).update(last_received_at=now())
        waiting = note.status == NoteStatus.PROCESSANDO
        if waiting and (not status or status == note.status or status in _HOOK_SETTLES):
            note_event(note, NoteEvent.Kind.HOOK_RECEIVED, f"Focus hook {hook.event}",
                       status=status)
            note.in_doubt = False
            apply_upstream(note, body, source="hook")
            if note.status in FINAL_STATUSES and not _still_pending(note) and not note.claim_token:
                note.next_action = NextAction.NONE
                note.next_action_at = None
                note.save(update_fields=["next_action", "next_action_at", "in_doubt"])
            return note
        # Only a change the note could make is worth a read: statuses never go backwards, so
        # "autorizado" for a cancelled note (or an unknown word) is not asked about.
        news = status in ALLOWED_TRANSITIONS.get(note.status, ()) or _still_pending(note)
        note_event(note, NoteEvent.Kind.HOOK_RECEIVED,
                   f"Focus hook {hook.event}: " + (
                       f"says {status} of a {note.status} note, not applied; confirming with a "
                       "read of Focus" if news else "nothing new"),
                   status=status)
    if news:
        note_request_sync(note=note, reason=f"confirm what a hook said ({status})")
    return note


def hook_record_refusal(*, hook: FocusHook, body: dict[str, Any], reason: str) -> None:
    """Record on the hook (never on a note) a delivery that moved nothing, bounded."""
    entry = {
        "at": now().isoformat(),
        "reason": reason,
        "ref": str(body.get("ref") or "")[:100],
        "status": str(body.get("status") or "")[:40],
    }
    with transaction.atomic():
        locked = FocusHook.objects.select_for_update().get(pk=hook.pk)
        locked.refused_count += 1
        locked.last_refused_at = locked.last_received_at = now()
        locked.refused_log = [*(locked.refused_log or []), entry][-HOOK_LOG_SIZE:]
        locked.save(update_fields=["refused_count", "last_refused_at", "last_received_at",
                                   "refused_log"])
    logger.warning("Focus hook %s delivery refused (%s): ref %r", hook.pk, reason, entry["ref"])


def note_request_sync(*, note: Note, reason: str, actor: str = "") -> Note:
    """Read the note from Focus as soon as possible (tenant, operator or hook asked).

    ``actor``: the staff user who asked, named in the timeline entry (empty: not staff)."""
    with transaction.atomic():
        locked = Note.objects.select_for_update().get(pk=note.pk)
        running = bool(locked.claim_token) and (locked.next_action_at or now()) > now()
        if locked.next_action != NextAction.SUBMIT and not running:
            # A step already running will read the note anyway; otherwise read it now.
            locked.next_action = NextAction.SYNC
            locked.next_action_at = now()
            locked.priority = 1
            locked.claim_token = ""
            locked.save(update_fields=["next_action", "next_action_at", "priority",
                                       "claim_token", "updated_at"])
        if actor:
            note_event(locked, NoteEvent.Kind.OPERATOR, f"sync requested by {actor}: {reason}",
                       by=actor)
        else:
            note_event(locked, NoteEvent.Kind.OPERATOR, f"sync requested: {reason}")
    return locked
