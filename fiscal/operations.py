"""Operations on an existing note: cancelamento, carta de correção, ator interessado, insucesso
de entrega and its cancellation, e-mail resend, the generic event (tipo_evento).

Each is a FiscalEvent written before Focus is called (DESIGN.md §5.4). Focus does them
synchronously, so the tenant's request waits for Focus's answer, up to a deadline. Past it, or
after any ambiguous failure, the event is in doubt and the next step reads the note from Focus:
what the consulta shows decides whether the operation landed. An operation the consulta cannot
show (ator interessado, insucesso, e-mail) is never repeated blindly: it becomes
``indeterminado`` and the tenant decides.

Reference: focus-nfe-api-v2.txt, "Cancelamento", "Carta de Correção Eletrônica", "Ator
Interessado", "Insucesso na Entrega", "Reenvio de email"; FocusNFe/api-doc _nfe.md "Eventos"
(the generic event, fiscal/evento.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from core.claims import claim
from core.errors import FocusError
from fiscal import evento, inline, selectors
from fiscal.changes import ChangeType, FiscalChange, publish
from fiscal.consulta import completa_drop
from fiscal.focus.client import (
    FocusClient,
    FocusNotFound,
    FocusRateLimited,
    FocusUpstreamError,
)
from fiscal.models import FiscalEvent, NextAction, Note, NoteEvent, NoteStatus
from fiscal.render import note_consulta, with_gateway_paths
from fiscal.services import apply_upstream, note_event, now
from tenants.models import ApiKey

Kind = FiscalEvent.Kind
Status = FiscalEvent.Status

# SEFAZ's rejection for a cancellation out of time (the answer Focus relays).
REJECT_CANCEL_WINDOW = ("501", "Rejeicao: Prazo de Cancelamento Superior ao Previsto na Legislacao")
REJECT_CCE_LIMIT = ("594", "Rejeicao: O numero de sequencia do evento informado e maior que o "
                           "permitido")
REJECT_ATOR_WINDOW = ("501", "Rejeicao: Prazo do evento Ator Interessado expirado "
                             "(6 meses da autorizacao)")
MAX_CCE = 20  # "até o limite de 20 correções"


def _bad(mensagem: str) -> FocusError:
    return FocusError("requisicao_invalida", mensagem)


# --- what each operation is ---------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    kind: str  # also the operation's name at Focus (fiscal.focus.note_operations)
    doc_types: tuple[str, ...]
    validate: Callable[[dict[str, Any], str], dict[str, Any]]  # (body, doc_type)
    # Whether a read of the note can tell if the operation landed (then it may be resent).
    readable: bool
    success_change: str
    # Whether a read that does not show the operation proves it did not land (then it is sent
    # again); when not, it becomes indeterminado.
    absent_when_unseen: bool = True


def _justificativa(data: dict[str, Any], doc_type: str) -> dict[str, Any]:
    text = data.get("justificativa")
    if text in (None, ""):
        # Reference: focus-nfe-api-v2.txt, NFCe "Status API": justificativa_nao_informada.
        raise FocusError("justificativa_nao_informada" if doc_type == "nfce"
                         else "requisicao_invalida", 'Parâmetro "justificativa" não informado')
    if not 15 <= len(str(text)) <= 255:
        raise _bad('Parâmetro "justificativa" deve ter entre 15 e 255 caracteres')
    return {"justificativa": str(text)}


def _correcao(data: dict[str, Any], doc_type: str) -> dict[str, Any]:
    text = data.get("correcao")
    if text in (None, ""):
        raise _bad('Parâmetro "correcao" não informado')
    if not 15 <= len(str(text)) <= 1000:
        raise _bad('Parâmetro "correcao" deve ter entre 15 e 1000 caracteres')
    return {"correcao": str(text)}


def _ator(data: dict[str, Any], doc_type: str) -> dict[str, Any]:
    if not data.get("cnpj") and not data.get("cpf"):
        raise _bad("Por favor, informe o CNPJ ou CPF do ator interessado.")
    allowed = ("cnpj", "cpf", "permite_autorizacao_terceiros")
    return {k: data[k] for k in allowed if k in data}


def _insucesso(data: dict[str, Any], doc_type: str) -> dict[str, Any]:
    if not data.get("data_tentativa_entrega"):
        raise _bad("Por favor, informe a data da tentativa de entrega.")
    if data.get("motivo_insucesso") in (None, ""):
        raise _bad("Por favor, informe o motivo do insucesso na entrega.")
    if str(data.get("motivo_insucesso")) == "4" and not data.get("justificativa_insucesso"):
        raise _bad("Por favor, informe a justificativa do insucesso na entrega.")
    return dict(data)


def _emails(data: dict[str, Any], doc_type: str) -> dict[str, Any]:
    emails = data.get("emails")
    if not isinstance(emails, list) or not emails or not all(
        isinstance(e, str) and "@" in e for e in emails
    ):
        raise _bad('Parâmetro "emails" deve ser uma lista de endereços de e-mail')
    if len(emails) > 10:
        raise _bad("Informe no máximo 10 endereços de e-mail")
    return {"emails": emails}


def _nothing(data: dict[str, Any], doc_type: str) -> dict[str, Any]:
    return {}


SPECS: dict[str, Spec] = {
    Kind.CANCELAMENTO: Spec(Kind.CANCELAMENTO, ("nfe", "nfce", "nfse", "nfsen"),
                            _justificativa, True, ChangeType.NOTE_CANCELLED),
    Kind.CARTA_CORRECAO: Spec(Kind.CARTA_CORRECAO, ("nfe",), _correcao, True,
                              ChangeType.CORRECTION_REGISTERED),
    Kind.ATOR_INTERESSADO: Spec(Kind.ATOR_INTERESSADO, ("nfe",), _ator, False,
                                ChangeType.OPERATION_REGISTERED),
    Kind.INSUCESSO_ENTREGA: Spec(Kind.INSUCESSO_ENTREGA, ("nfe",), _insucesso, False,
                                 ChangeType.OPERATION_REGISTERED),
    Kind.CANCELAMENTO_INSUCESSO: Spec(Kind.CANCELAMENTO_INSUCESSO, ("nfe",), _nothing, False,
                                      ChangeType.OPERATION_REGISTERED),
    Kind.EMAIL: Spec(Kind.EMAIL, ("nfe", "nfce", "nfse", "nfsen"), _emails, False,
                     ChangeType.OPERATION_REGISTERED),
    # The consulta may show it, but not showing it proves nothing (fiscal/evento.py).
    Kind.EVENTO: Spec(Kind.EVENTO, ("nfe",), evento.evento_validate, True,
                      ChangeType.OPERATION_REGISTERED, absent_when_unseen=False),
}


# --- the tenant's request ---------------------------------------------------------------------

@dataclass
class OperationResult:
    event: FiscalEvent
    status_code: int
    body: dict[str, Any]


def operation_request(*, api_key: ApiKey, doc_type: str, ref: str, kind: str,
                      data: Any) -> OperationResult:
    """Validate, persist the FiscalEvent, call Focus within the deadline, answer like Focus."""
    spec = SPECS[kind]
    if doc_type not in spec.doc_types:
        raise FocusError("nao_encontrado", "Operação não disponível para este documento",
                         status_code=404)
    note = selectors.note_at_focus(tenant=api_key.tenant, environment=api_key.environment,
                                   doc_type=doc_type, ref=ref)
    if note is None:
        if doc_type == "nfce" and kind == Kind.CANCELAMENTO:
            # Reference: focus-nfe-api-v2.txt, NFCe "Status API".
            raise FocusError("nfce_nao_encontrada", "NFCe não encontrada", status_code=404)
        raise FocusError("nao_encontrado", "Nota fiscal não encontrada", status_code=404)
    payload = spec.validate(data if isinstance(data, dict) else {}, doc_type)
    early = _precheck(spec, note)
    if early is not None:
        return early
    event = _persist(note, spec, payload)
    return _run(event, spec, timeout=settings.FG_OPERATION_INLINE_TIMEOUT, tenant_waits=True)


def _precheck(spec: Spec, note: Note) -> OperationResult | None:
    """Focus's answers for what cannot succeed, given without calling it."""
    nfse = note.doc_type in ("nfse", "nfsen")
    if spec.kind == Kind.EVENTO:
        evento.evento_precheck(note)
        return None
    if spec.kind in (Kind.EMAIL,):
        if note.status not in (NoteStatus.AUTORIZADO, NoteStatus.CANCELADO):
            raise FocusError("nfe_nao_autorizada", "Nota fiscal não autorizada", status_code=422)
        return None
    if note.status == NoteStatus.CANCELADO:
        raise FocusError("nfe_cancelada", "Nota fiscal já cancelada", status_code=400)
    if note.status != NoteStatus.AUTORIZADO:
        # Reference: the "Status API" table of each document (focus-nfe-api-v2.txt).
        if note.doc_type == "nfce" and spec.kind == Kind.CANCELAMENTO:
            raise FocusError("nfce_nao_autorizada", "NFCe não autorizada", status_code=404)
        raise FocusError("nfe_nao_autorizada", "Nota fiscal não autorizada",
                         status_code=400 if nfse else 422)
    authorized = note.authorized_at or note.created_at
    if spec.kind == Kind.CANCELAMENTO and not nfse:
        window = (settings.FG_NFE_CANCEL_WINDOW if note.doc_type == "nfe"
                  else settings.FG_NFCE_CANCEL_WINDOW)
        if now() - authorized > timedelta(seconds=window):
            return _early_refusal(note, spec, "erro_cancelamento", *REJECT_CANCEL_WINDOW)
    if spec.kind == Kind.CARTA_CORRECAO:
        registered = note.fiscal_events.filter(kind=Kind.CARTA_CORRECAO,
                                               status=Status.AUTORIZADO).count()
        if registered >= MAX_CCE:
            return _early_refusal(note, spec, "erro_autorizacao", *REJECT_CCE_LIMIT)
    if spec.kind == Kind.ATOR_INTERESSADO and now() - authorized > timedelta(days=183):
        return _early_refusal(note, spec, "erro_autorizacao", *REJECT_ATOR_WINDOW)
    return None


def _early_refusal(note: Note, spec: Spec, status: str, code: str,
                   message: str) -> OperationResult:
    body = {"status": status, "status_sefaz": code, "mensagem_sefaz": message}
    with transaction.atomic():
        event = FiscalEvent.objects.create(
            tenant=note.tenant, note=note, kind=spec.kind, status=Status.ERRO,
            status_sefaz=code, mensagem_sefaz=message, upstream=body,
        )
        note_event(note, NoteEvent.Kind.OPERATION, f"{spec.kind} refused before sending: {code}",
                   fiscal_event=event.pk)
    return OperationResult(event=event, status_code=200, body=body)


def _persist(note: Note, spec: Spec, payload: dict[str, Any]) -> FiscalEvent:
    with transaction.atomic():
        if spec.kind == Kind.EVENTO:
            pending = evento.evento_in_flight(note=note, payload=payload)
            if pending is not None:
                # The same event still waits on Focus: this request does not hold its claim
                # (a token nobody holds), so _run answers its pending body and sends nothing.
                pending.claim_token = secrets.token_hex(16)
                return pending
        sequence = None
        if spec.kind == Kind.CARTA_CORRECAO:
            sequence = note.fiscal_events.filter(
                kind=Kind.CARTA_CORRECAO, status=Status.AUTORIZADO).count() + 1
        event = FiscalEvent.objects.create(
            tenant=note.tenant, note=note, kind=spec.kind, sequence=sequence, payload=payload,
            next_action=NextAction.SUBMIT, next_action_at=now(),
            claim_token=secrets.token_hex(16),
        )
        note_event(note, NoteEvent.Kind.OPERATION, f"{spec.kind} requested",
                   fiscal_event=event.pk)
    return event


# --- running one step ---------------------------------------------------------------------------

def _client(note: Note, timeout: float | None, *, urgent: bool = True) -> FocusClient:
    return FocusClient(environment=note.environment,
                       token=note.empresa.focus_token(note.environment),
                       tenant_id=note.tenant_id, urgent=urgent, timeout=timeout)


def _run(event: FiscalEvent, spec: Spec, *, timeout: float | None,
         tenant_waits: bool = False) -> OperationResult:
    """Send the operation (a claimed event). Marked in doubt before it leaves.

    ``tenant_waits``: the tenant's own request. When nothing reached Focus (our budget for the
    token spent, Focus's 429, no connection), the tenant hears it at once, as Focus would
    answer (429 with Rate-Limit-* and Retry-After, or 503), and the event is closed as not
    sent: nothing is left to be sent later behind the tenant's back, who sends it again when
    it wants. In the background (a resend the read proved safe), it is retried later."""
    note = event.note
    lease = now() + timedelta(seconds=settings.FG_CLAIM_LEASE)
    if not claim(FiscalEvent, event.pk, where={"claim_token": event.claim_token},
                 in_doubt=True, next_action=NextAction.SYNC, next_action_at=lease,
                 attempts=event.attempts + 1):
        event.refresh_from_db()
        return OperationResult(event, 202, _pending_body(event))
    event.attempts += 1
    event.in_doubt = True
    client = _client(note, timeout)
    return inline.call(
        lambda: client.operation(note.doc_type, note.upstream_ref, spec.kind,
                                 event.payload or None),
        answered=lambda answer: _settle(event, spec, status_code=answer.status_code,
                                        body=answer.data),
        refused=lambda exc: _settle(event, spec, status_code=exc.status_code, body=exc.body,
                                    refused=True),
        # Sent, answer unknown: the background reads the note before anything else.
        in_doubt=lambda exc: _retry_later(event, exc, delay=settings.FG_RETRY_SCHEDULE[0],
                                          resend=False),
        # Nothing reached Focus (its 429, no request left, no connection).
        not_sent=lambda exc: _not_sent(event, exc) if tenant_waits else _retry_later(
            event, exc, resend=True,
            delay=exc.retry_after if isinstance(exc, FocusRateLimited)
            else settings.FG_RETRY_SCHEDULE[0]),
    )


def _pending_body(event: FiscalEvent) -> dict[str, Any]:
    return {
        "status": "processando",
        "mensagem": "A operação foi registrada e aguarda a resposta da SEFAZ; ela continua em "
                    "segundo plano e não será enviada em duplicidade. Consulte a nota.",
        "operacao": event.kind,
        "id_operacao": event.pk,
    }


def _retry_later(event: FiscalEvent, exc: FocusUpstreamError, *, delay: float,
                 resend: bool) -> OperationResult:
    """Not answered. ``resend``: nothing reached Focus, sending again is safe."""
    with transaction.atomic():
        FiscalEvent.objects.filter(pk=event.pk).update(
            claim_token="", in_doubt=not resend,
            next_action=NextAction.SUBMIT if resend else NextAction.SYNC,
            next_action_at=now() + timedelta(seconds=delay),
            last_error=f"{type(exc).__name__}: {exc}"[:1000],
        )
        note_event(event.note, NoteEvent.Kind.UPSTREAM_ERROR, str(exc)[:500],
                   fiscal_event=event.pk, error=type(exc).__name__, sent=exc.sent)
    event.refresh_from_db()
    return OperationResult(event, 202, _pending_body(event))


def _not_sent(event: FiscalEvent, exc: FocusUpstreamError) -> OperationResult:
    """Nothing reached Focus and the tenant is told so: the event is closed, never sent."""
    with transaction.atomic():
        FiscalEvent.objects.filter(pk=event.pk).update(
            status=Status.ERRO, claim_token="", in_doubt=False, next_action=NextAction.NONE,
            next_action_at=None, mensagem_sefaz="não enviado à Focus NFe",
            upstream={"gateway": {"sent": False, "error": f"{type(exc).__name__}: {exc}"}},
            last_error=f"{type(exc).__name__}: {exc}"[:1000],
        )
        note_event(event.note, NoteEvent.Kind.UPSTREAM_ERROR,
                   f"{event.kind} not sent, the tenant was answered at once: {exc}"[:500],
                   fiscal_event=event.pk, error=type(exc).__name__, sent=False)
    inline.raise_not_sent(exc)


def _settle(event: FiscalEvent, spec: Spec, *, status_code: int, body: Any,
            refused: bool = False) -> OperationResult:
    body = body if isinstance(body, dict) else {}
    with transaction.atomic():
        note = Note.objects.select_for_update().select_related("tenant", "empresa").get(
            pk=event.note_id)
        upstream_status = str(body.get("status", ""))
        ok = not refused and upstream_status in ("autorizado", "cancelado")
        event.status = Status.AUTORIZADO if ok else Status.ERRO
        event.status_sefaz = str(body.get("status_sefaz", "") or "")
        event.mensagem_sefaz = str(body.get("mensagem_sefaz") or body.get("mensagem") or "")
        event.erros = body.get("erros")
        event.upstream = body
        event.next_action = NextAction.NONE
        event.next_action_at = None
        event.claim_token = ""
        event.in_doubt = False
        if ok and spec.kind == Kind.CARTA_CORRECAO and body.get("numero_carta_correcao"):
            event.sequence = int(body["numero_carta_correcao"])
        if ok and spec.kind == Kind.EVENTO:
            event.sequence = evento.evento_sequence(body, event.payload)
        event.save()
        note_event(note, NoteEvent.Kind.OPERATION,
                   f"{spec.kind}: {upstream_status or status_code}", fiscal_event=event.pk,
                   status_code=status_code, status_sefaz=event.status_sefaz,
                   mensagem_sefaz=event.mensagem_sefaz[:300])
        if ok:
            _record_on_note(note, spec, body)
        elif not refused and spec.kind in (Kind.CANCELAMENTO,):
            publish(FiscalChange(type=ChangeType.NOTE_CANCELLATION_FAILED, tenant=note.tenant,
                                 empresa=note.empresa,
                                 data={**note_consulta(note), "cancelamento": body},
                                 note=note, fiscal_event=event))
        elif not refused and spec.kind != Kind.EMAIL:
            publish(FiscalChange(type=ChangeType.OPERATION_FAILED, tenant=note.tenant,
                                 empresa=note.empresa, data={**note_consulta(note),
                                                             "operacao": spec.kind, **body},
                                 note=note, fiscal_event=event))
    return OperationResult(event, status_code, with_gateway_paths(body, note))


def _record_on_note(note: Note, spec: Spec, body: dict[str, Any]) -> None:
    """What Focus's consulta would now show: the new files and numbers, the new status."""
    extra = {k: v for k, v in body.items()
             if k.startswith(("caminho_", "numero_")) and k != "numero"}
    if spec.kind == Kind.CANCELAMENTO:
        apply_upstream(note, {"status": NoteStatus.CANCELADO, **extra}, source="cancelamento")
        # The completa objects now miss the cancellation: fetched anew on the next read.
        completa_drop(note)
        note.save(update_fields=["upstream", "updated_at"])
        return
    note.upstream = {**(note.upstream or {}), **extra}
    if spec.kind == Kind.CARTA_CORRECAO:
        completa_drop(note)
    note.save(update_fields=["upstream", "updated_at"])
    if spec.kind == Kind.EMAIL:
        return
    event = note.fiscal_events.filter(kind=spec.kind).order_by("-id").first()
    publish(FiscalChange(type=spec.success_change, tenant=note.tenant, empresa=note.empresa,
                         data={**note_consulta(note), "operacao": spec.kind},
                         note=note, fiscal_event=event))


# --- the background: in-doubt events are read, resendable ones resent ------------------------

def dispatch_due_events(*, limit: int = 100) -> list[tuple[int, str]]:
    due = list(
        FiscalEvent.objects.filter(
            next_action__in=[NextAction.SUBMIT, NextAction.SYNC], next_action_at__lte=now()
        ).order_by("next_action_at").values_list("pk", "next_action_at")[:limit]
    )
    claimed = []
    for pk, at in due:
        token = secrets.token_hex(16)
        if claim(FiscalEvent, pk, where={"next_action_at": at}, claim_token=token,
                 next_action_at=now() + timedelta(seconds=settings.FG_CLAIM_LEASE)):
            claimed.append((pk, token))
    return claimed


def event_run_step(*, event_id: int, token: str) -> FiscalEvent:
    event = FiscalEvent.objects.select_related("note", "note__empresa").get(pk=event_id)
    if event.claim_token != token:
        return event
    spec = SPECS[event.kind]
    if event.next_action == NextAction.SUBMIT and not event.in_doubt:
        return _run(event, spec, timeout=None).event
    return _reconcile(event, spec, token)


def _reconcile(event: FiscalEvent, spec: Spec, token: str) -> FiscalEvent:
    """In doubt: read the note; resend only what the read proves did not land."""
    note = event.note
    if not spec.readable:
        return _undetermined(event, spec, token, "no way to read the outcome")
    # A background read: it leaves the reserve of the token's requests to urgent work.
    client = _client(note, None, urgent=False)
    try:
        consulta = client.consult(note.doc_type, note.upstream_ref, completa=True).body
    except FocusNotFound:
        consulta = {}
    except FocusUpstreamError as exc:
        _retry_later(event, exc, delay=settings.FG_RETRY_SCHEDULE[1], resend=False)
        event.refresh_from_db()
        return event
    landed = _landed(spec, event, consulta)
    if landed is not None:
        return _settle(event, spec, status_code=200, body=landed).event
    if not spec.absent_when_unseen:
        return _undetermined(event, spec, token, "the consulta does not show it")
    # The read proves Focus does not have it: sending it cannot make a second one.
    claim(FiscalEvent, event.pk, where={"claim_token": token},
          in_doubt=False, next_action=NextAction.SUBMIT, next_action_at=now())
    event.refresh_from_db()
    return _run(event, spec, timeout=None).event


def _undetermined(event: FiscalEvent, spec: Spec, token: str, why: str) -> FiscalEvent:
    """In doubt and nothing proves either way: closed, never repeated on its own."""
    with transaction.atomic():
        claim(FiscalEvent, event.pk, where={"claim_token": token},
              status=Status.INDETERMINADO, next_action=NextAction.NONE, next_action_at=None,
              claim_token="", in_doubt=False)
        note_event(event.note, NoteEvent.Kind.OPERATION,
                   f"{spec.kind}: no answer from Focus and {why}; not repeated automatically",
                   fiscal_event=event.pk)
    event.refresh_from_db()
    return event


def _landed(spec: Spec, event: FiscalEvent, consulta: dict[str, Any]) -> dict[str, Any] | None:
    """The operation's answer as the consulta shows it, or None when it did not land."""
    if spec.kind == Kind.EVENTO:
        return evento.evento_landed(event, consulta)
    if spec.kind == Kind.CANCELAMENTO and consulta.get("status") == NoteStatus.CANCELADO:
        protocolo = consulta.get("protocolo_cancelamento") or {}
        return {
            "status": "cancelado",
            "status_sefaz": str(protocolo.get("status", "135")) if isinstance(protocolo, dict)
            else "135",
            "mensagem_sefaz": "Evento registrado e vinculado a NF-e (lido na consulta)",
            **{k: v for k, v in consulta.items() if k == "caminho_xml_cancelamento"},
        }
    if spec.kind == Kind.CARTA_CORRECAO:
        numero = consulta.get("numero_carta_correcao")
        if numero and event.sequence and int(numero) >= event.sequence:
            return {
                "status": "autorizado",
                "status_sefaz": "135",
                "mensagem_sefaz": "Evento registrado e vinculado a NF-e (lido na consulta)",
                "numero_carta_correcao": int(numero),
                **{k: v for k, v in consulta.items()
                   if k in ("caminho_xml_carta_correcao", "caminho_pdf_carta_correcao")},
            }
    return None
