"""Writes to notes: accepting one (ref rules, the "created" event), applying what Focus says
about it (statuses never go backwards; changes published), asking for a sync now.

The steps that talk to Focus (submit, sync) are in fiscal/steps.py; the choice between running
a submit inline or queuing it is in fiscal/emission.py.
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Field
from django.db.models.signals import post_save
from django.utils import timezone

from core import statements
from core.claims import claim
from core.errors import FocusError
from fiscal.changes import ChangeType, FiscalChange, publish
from fiscal.models import (
    ALLOWED_TRANSITIONS,
    FINAL_STATUSES,
    NextAction,
    Note,
    NoteEvent,
    NoteStatus,
)
from fiscal.render import note_consulta
from fiscal.validation import validate_document, validate_ref
from tenants.models import ApiKey, Empresa, Tenant

notes_log = logging.getLogger("fiscal.notes")  # one INFO line per timeline row: what changed

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


def new_claim_token() -> str:
    return secrets.token_hex(16)


_timeline = threading.local()  # gunicorn runs requests in threads: one batch per thread


@contextmanager
def timeline_batch() -> Iterator[None]:
    """Timeline rows written inside are inserted together, in one statement, at the end.

    Use it inside the transaction that writes them (``with transaction.atomic(),
    timeline_batch():``): the rows then commit or roll back with it, as one by one. Nested
    batches join the outer one. Nothing may read the timeline back before the block ends, nor
    a note saved with ``timeline_save`` (its UPDATE goes out with the rows).
    """
    if getattr(_timeline, "rows", None) is not None:
        yield
        return
    _timeline.rows, _timeline.saves = [], []
    try:
        yield
        rows, saves = _timeline.rows, _timeline.saves
    finally:
        _timeline.rows = _timeline.saves = None
    if rows and len(saves) == 1 and connection.vendor == "postgresql":
        _save_with_rows(*saves[0], rows)
    else:
        for note, fields in saves:
            note.save(update_fields=fields)
        if rows:
            NoteEvent.objects.bulk_create(rows)
    for row in rows:
        _announce(row)


def timeline_save(note: Note, *, update_fields: Sequence[str]) -> None:
    """``note.save(update_fields=...)``; inside a ``timeline_batch``, at its end, with its rows
    (one statement on Postgres: a step's answer and a hook wrote the note, then its rows)."""
    saves = getattr(_timeline, "saves", None)
    if saves is None:
        note.save(update_fields=update_fields)
    else:
        saves.append((note, tuple(update_fields)))


def _save_with_rows(note: Note, update_fields: Sequence[str], rows: list[NoteEvent]) -> None:
    """The note's UPDATE of ``update_fields`` and the INSERT of ``rows``, one statement.

    A data-modifying WITH runs to completion whether or not the INSERT reads it."""
    # pre_save: auto_now (updated_at) as save() sets it.
    values = {name: Note._meta.get_field(name).pre_save(note, add=False)
              for name in update_fields}
    update, update_params = statements.update_sql(Note, note.pk, values)
    fields = _timeline_fields()
    params = [value for row in rows for value in statements.prepared_for_insert(row, fields)]
    statement = (
        f"WITH saved AS ({update}) INSERT INTO {statements.table(NoteEvent)} "  # noqa: S608
        f"({statements.columns(fields)}) VALUES "
        f"{statements.values_rows(len(fields), len(rows))} RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*update_params, *params])
        ids = [row_id for (row_id,) in cursor.fetchall()]
    for row, row_id in zip(rows, ids, strict=True):
        statements.mark_saved(row, row_id)


def _insert_with_event(note: Note, event: NoteEvent) -> None:
    """Insert a new note and its first timeline row, both or neither (IntegrityError when
    the note's ref is taken).

    On Postgres one statement (``WITH note AS (INSERT ... RETURNING id) INSERT ...``), in
    autocommit when the caller has no transaction: the accept's two INSERTs cost more CPU to
    compile than to run, and a transaction around them two more round trips."""
    if connection.vendor != "postgresql":
        with transaction.atomic():
            note.save(force_insert=True)
            timeline_add(event)
    else:
        # Inside a caller's transaction, a savepoint: a taken ref must not break it.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            _insert_note_and_event(note, event)
    _log_event(note, event)


def _insert_note_and_event(note: Note, event: NoteEvent) -> None:
    note_fields, event_fields, statement = _note_and_event_sql()
    params = [*statements.prepared_for_insert(note, note_fields),
              *statements.prepared_for_insert(event, event_fields)]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        note_id, event_id = cursor.fetchone()
    statements.mark_saved(note, note_id)
    event.note = note  # its note_id, now known
    statements.mark_saved(event, event_id)
    _announce(event)


@functools.cache
def _note_and_event_sql() -> tuple[list[Field], list[Field], str]:
    note_fields = statements.insert_fields(Note)
    event_fields = _timeline_fields()[1:]  # the note's id comes from the first INSERT
    return note_fields, event_fields, (
        f"WITH note AS (INSERT INTO {statements.table(Note)} "  # noqa: S608 - model names
        f"({statements.columns(note_fields)}) "
        f"VALUES ({statements.placeholders(len(note_fields))}) RETURNING id) "
        f"INSERT INTO {statements.table(NoteEvent)} "
        f"({statements.quote(NoteEvent._meta.get_field('note').column)}, "
        f"{statements.columns(event_fields)}) "
        f"SELECT note.id, {statements.placeholders(len(event_fields))} FROM note "
        f"RETURNING {statements.quote(NoteEvent._meta.get_field('note').column)}, id"
    )


def _timeline_fields() -> list[Field]:
    return [NoteEvent._meta.get_field(name)
            for name in ("note", "kind", "message", "data", "created_at")]


def timeline_add(event: NoteEvent) -> NoteEvent:
    """Insert one timeline row now, or with the current batch (``timeline_batch``)."""
    rows = getattr(_timeline, "rows", None)
    if rows is None:
        event.save(force_insert=True)
    else:
        rows.append(event)
    return event


def note_event(note: Note, kind: str, message: str = "", **data: Any) -> NoteEvent:
    event = timeline_add(NoteEvent(note=note, kind=kind, message=message, data=data))
    _log_event(note, event)
    return event


def _log_event(note: Note, event: NoteEvent) -> None:
    notes_log.info("note %s %s: %s", note.pk, event.kind, event.message, extra={
        "note_id": note.pk, "tenant_id": note.tenant_id, "upstream_ref": note.upstream_ref})


def claim_with_event(note: Note, *, where: dict[str, Any], event: NoteEvent,
                     **changes: Any) -> bool:
    """``core.claims.claim`` of the note's row and, only if it took, its timeline row: both
    committed together (the caller is not in a transaction) or neither. On success ``note``
    carries ``changes``.

    On Postgres one statement does both (an ``UPDATE ... RETURNING`` feeding the ``INSERT``):
    the write-ahead before each POST cost two statements and two commits for one fact."""
    if connection.vendor != "postgresql" or _timeline_rows() is not None:
        with transaction.atomic():
            if not claim(Note, note.pk, where=where, **changes):
                return False
            timeline_add(event)
    elif not _claim_and_insert(note, where=where, event=event, changes=changes):
        return False
    for name, value in changes.items():
        setattr(note, name, value)
    _log_event(note, event)
    return True


def _claim_and_insert(note: Note, *, where: dict[str, Any], event: NoteEvent,
                      changes: dict[str, Any]) -> bool:
    """``claim_with_event`` on Postgres: one ``WITH claimed AS (UPDATE ...) INSERT``."""
    update, update_params = statements.update_sql(Note, note.pk, changes, where)
    event.created_at = now()
    fields = _timeline_fields()[1:]  # the note's id comes from the claim
    params = statements.prepared(
        fields, [event.kind, event.message, event.data, event.created_at])
    statement = (
        f"WITH claimed AS ({update} RETURNING id) "  # noqa: S608
        f"INSERT INTO {statements.table(NoteEvent)} "
        f"({statements.quote(NoteEvent._meta.get_field('note').column)}, "
        f"{statements.columns(fields)}) "
        f"SELECT claimed.id, {statements.placeholders(len(fields))} FROM claimed RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*update_params, *params])
        row = cursor.fetchone()
    if row is None:
        return False
    statements.mark_saved(event, row[0])
    _announce(event)
    return True


def _timeline_rows() -> list[NoteEvent] | None:
    return getattr(_timeline, "rows", None)


def _announce(row: NoteEvent) -> None:
    # A row not saved through save() sends no post_save: send it, so a listener (metrics
    # counts the rows that put a note in processing) hears it as one saved alone.
    post_save.send(sender=NoteEvent, instance=row, created=True, raw=False,
                   using=row._state.db, update_fields=None)


def redacted_body(body: Any) -> Any:
    """What of an upstream answer goes into the timeline: bounded, no secrets inside."""
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if not k.startswith(("token", "requisicao_"))}
    return body


# --- creation ---------------------------------------------------------------------------------

# What the accept path reads of the company: its checks below, and its id for the note. A
# company of thirty-odd columns cost the accept as much as writing the note did (its query's
# compilation); the note's other readers load the company themselves.
ACCEPT_EMPRESA_FIELDS = (
    "id", "tenant_id", "cnpj", "cpf", "is_active", "certificado_valido_ate",
    *(f"habilita_{doc_type}" for doc_type in ("nfe", "nfce", "nfse", "nfsen")),
)


@functools.cache
def _accept_empresa(field: str, token_environment: str | None) -> statements.PreparedSelect:
    """The accept path's company query, by the document's column, compiled once per process
    (core.statements): building and compiling it on every request cost more CPU than the
    note's INSERT. With ``token_environment``, the company's Focus token of that environment
    (and its fingerprint) too: the inline submit that follows reads nothing again. No ORDER
    BY: (tenant, cnpj) and (tenant, cpf) are unique, the document never empty."""
    token = ((f"token_{token_environment}", f"token_{token_environment}_fingerprint")
             if token_environment else ())
    return statements.PreparedSelect(
        lambda tenant_id, document: Empresa.objects.only(*ACCEPT_EMPRESA_FIELDS, *token)
        .filter(tenant_id=tenant_id, **{field: document})[:1],
        tenant_id=-7_000_006, document="\x00document",
    )


def empresa_for_document(*, tenant: Tenant, doc_type: str, document: str,
                         accepting: bool = False, token_of: str | None = None) -> Empresa:
    """The tenant's company that emits this document, enabled for the type (Focus's errors).

    ``accepting``: the accept path, which loads only ``ACCEPT_EMPRESA_FIELDS`` and, with
    ``token_of``, the company's Focus token of that environment."""
    field = "cpf" if len(document) == 11 else "cnpj"
    if accepting:
        empresa = _accept_empresa(field, token_of).one(tenant_id=tenant.pk, document=document)
    else:
        # The tokens are for the worker: not decrypted on the request path.
        empresa = next(iter(Empresa.objects.defer("token_homologacao", "token_producao")
                            .filter(tenant=tenant, **{field: document})[:1]), None)
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
    # The note's company carries its Focus token: an inline submit runs on this note as it is,
    # without reading it again.
    ready: bool = False


def note_accept(*, api_key: ApiKey, doc_type: str, ref: str | None, payload: Any,
                params: dict[str, str] | None = None, with_token: bool = False) -> Accepted:
    """Validate like Focus's first validation, find the company, and persist the note.

    ``with_token``: an inline submit follows; the company's token comes with it."""
    ref = validate_ref(ref, doc_type=doc_type)
    _, document = validate_document(doc_type, payload)
    empresa = empresa_for_document(tenant=api_key.tenant, doc_type=doc_type, document=document,
                                   accepting=True,
                                   token_of=api_key.environment if with_token else None)
    accepted = note_persist(api_key=api_key, empresa=empresa, doc_type=doc_type, ref=ref,
                            payload=payload, params=params)
    accepted.ready = with_token
    return accepted


def note_persist(*, api_key: ApiKey, empresa: Empresa, doc_type: str, ref: str,
                 payload: dict[str, Any], params: dict[str, str] | None = None) -> Accepted:
    """Apply the ref rules and persist the note, claimed for its submit. Every note (an
    emission, an importação) is accepted here.

    One transaction writes the Note and its "created" event; nothing is sent yet.
    """
    tenant = api_key.tenant
    token = new_claim_token()
    lease_until = now() + timedelta(seconds=settings.FG_FASTPATH_GRACE)
    key = {"tenant": tenant, "environment": api_key.environment, "doc_type": doc_type, "ref": ref}
    try:
        # The common case is a new ref: insert straight away and let the unique constraint
        # say when it is not (no read first, no race between the read and the insert).
        note = Note(
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
        created = NoteEvent(note=note, kind=NoteEvent.Kind.CREATED,
                            message="accepted from the tenant",
                            data={"api_key": api_key.display_prefix})
        _insert_with_event(note, created)
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
    note.focus_refused = False
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


def still_pending(note: Note) -> bool:
    """An authorized NFCe in offline contingency keeps being read until it is made effective."""
    return bool(note.contingencia_offline) and not note.contingencia_offline_efetivada and (
        note.status == NoteStatus.AUTORIZADO
    )


# --- applying what Focus says -------------------------------------------------------------------

# Every column apply_upstream may change: a caller that saves once, after it
# (``save=False``), writes these and its own, not the whole row (the payload is not rewritten).
UPSTREAM_FIELDS = (
    "upstream", *sorted(set(_COLUMNS.values())), "erros", "contingencia_offline",
    "contingencia_offline_efetivada", "tentativa_anterior", "tentativas_anteriores", "status",
    "settled_at", "stuck_at", "authorized_at", "next_action", "next_action_at", "updated_at",
)


def apply_upstream(note: Note, body: dict[str, Any], *, source: str,
                   keep_upstream: bool = False, save: bool = True) -> bool:
    """Apply a Focus consulta body (answer, read or hook) to a locked note; publish changes.

    Statuses never move backwards: a body whose status is not an allowed successor of the
    note's is recorded in the timeline and otherwise ignored. Returns True when applied.
    ``save=False``: the caller saves the note (``UPSTREAM_FIELDS`` and its own) in the same
    transaction, once; the subscribers see the note as applied, in memory.
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
            if not still_pending(note) and note.next_action == NextAction.SYNC:
                note.next_action = NextAction.NONE
                note.next_action_at = None
    if save:
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
