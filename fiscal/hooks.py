"""Focus hooks (gatilhos): the ones the gateway keeps registered for each company, their
receiver view (/focus/hooks/<id>), and what a delivery is believed to say.

Reference: SUPPLEMENT.md, "Hooks (gatilhos)". Focus authenticates its deliveries only with the
static ``authorization`` value we give it, so each hook has its own random secret.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core import statements
from core.parsers import StrictJSONParser
from fiscal.focus.client import FocusClient, FocusNotFound, FocusUpstreamError
from fiscal.models import (
    ALLOWED_TRANSITIONS,
    FINAL_STATUSES,
    FiscalEvent,
    FocusHook,
    NextAction,
    Note,
    NoteEvent,
    NoteStatus,
)
from fiscal.services import (
    UPSTREAM_FIELDS,
    apply_upstream,
    note_event,
    note_request_sync,
    now,
    still_pending,
    timeline_batch,
    timeline_save,
)
from tenants.models import Empresa, Environment

logger = logging.getLogger("fiscal.hooks")

# Which company flag a hook event needs.
_EVENT_FLAGS = {
    "nfe": ("habilita_nfe", "habilita_nfce"),
    "nfse": ("habilita_nfse",),
    "nfsen": ("habilita_nfsen",),
    "inutilizacao": ("habilita_nfe", "habilita_nfce"),
    "nfce_contingencia": ("habilita_nfce",),
}


def wanted_events(empresa: Empresa) -> list[str]:
    return [
        event for event in settings.FG_FOCUS_HOOK_EVENTS
        if any(getattr(empresa, flag, False) for flag in _EVENT_FLAGS.get(event, ()))
    ]


def receiver_url(hook: FocusHook) -> str:
    return f"{settings.FG_PUBLIC_URL}/focus/hooks/{hook.pk}"


def empresa_sync_hooks(*, empresa: Empresa) -> list[FocusHook]:
    """Make Focus hold exactly our hooks for this company, in both environments.

    Reads Focus's list first and creates only what is missing or different, so running it
    again (the periodic reconcile) re-creates hooks Focus lost or disabled and nothing else.
    """
    hooks = []
    if not settings.FG_FOCUS_HOOKS_ENABLED or not empresa.is_active:
        return hooks
    for environment in Environment.values:
        token = empresa.focus_token(environment)
        if not token:
            continue
        client = FocusClient(environment=environment, token=token, tenant_id=empresa.tenant_id)
        try:
            listed = client.hooks_list()
        except FocusUpstreamError as exc:
            logger.warning("cannot list Focus hooks of empresa %s: %s", empresa.pk, exc)
            FocusHook.objects.filter(empresa=empresa, environment=environment).update(
                last_error=str(exc)[:500])
            continue
        at_focus = {str(h.get("id")): h for h in listed}
        for event in wanted_events(empresa):
            hooks.append(_ensure(client, empresa, environment, event, at_focus))
    return hooks


def _ensure(client: FocusClient, empresa: Empresa, environment: str, event: str,
            at_focus: dict[str, dict]) -> FocusHook:
    fingerprint = empresa.focus_token_fingerprint(environment)
    hook, _ = FocusHook.objects.get_or_create(
        empresa=empresa, environment=environment, event=event,
        defaults={"secret": secrets.token_urlsafe(32), "token_fingerprint": fingerprint},
    )
    if hook.token_fingerprint != fingerprint:
        # The company's token changed. Whoever holds the old one can list the old hooks, with
        # their secret: the hook gets a new secret, registered below under the new token.
        hook.secret = secrets.token_urlsafe(32)
        hook.token_fingerprint = fingerprint
        hook.save(update_fields=["secret", "token_fingerprint"])
    url = receiver_url(hook)
    current = at_focus.get(hook.focus_id)
    if current and current.get("url") == url and current.get("authorization") in (
        None, hook.secret,
    ) and not current.get("disabled"):
        FocusHook.objects.filter(pk=hook.pk).update(verified_at=timezone.now(), last_error="")
        return hook
    if current:
        try:
            client.hook_delete(hook.focus_id)
        except FocusNotFound:
            pass
        except FocusUpstreamError as exc:
            logger.warning("cannot delete stale Focus hook %s: %s", hook.focus_id, exc)
    body = {"event": event, "url": url, "authorization": hook.secret}
    body["cpf" if empresa.cpf else "cnpj"] = empresa.documento
    try:
        created = client.hook_create(body)
    except FocusUpstreamError as exc:
        FocusHook.objects.filter(pk=hook.pk).update(last_error=str(exc)[:500])
        hook.last_error = str(exc)
        return hook
    hook.focus_id = str(created.get("id", ""))
    hook.url = url
    hook.is_active = True
    hook.verified_at = timezone.now()
    hook.last_error = ""
    hook.save(update_fields=["focus_id", "url", "is_active", "verified_at", "last_error"])
    return hook


# The two queries of every hook delivery, compiled once per process (core.statements).
_ACTIVE_HOOK = statements.PreparedSelect(
    # [:1], not first(): a primary key needs no ORDER BY.
    lambda hook_id: FocusHook.objects.select_related("empresa")
    .defer("empresa__token_homologacao", "empresa__token_producao")  # not decrypted here
    .filter(pk=hook_id, is_active=True)[:1],
    hook_id=-7_000_001,
)
_HOOKED_NOTE = statements.PreparedSelect(
    # Only the note's row is locked: hooks of one tenant never queue on its row. Its company is
    # the hook's (loaded with it), its payload is not read; upstream_ref is unique, so no
    # ORDER BY.
    lambda ref, empresa_id, environment: Note.objects.select_for_update(of=("self",))
    .select_related("tenant").defer("payload")
    .filter(upstream_ref=ref, empresa_id=empresa_id, environment=environment)[:1],
    ref="\x00ref", empresa_id=-7_000_002, environment="\x00environment",
)


def hook_authenticate(*, hook_id: int, presented: str | None) -> FocusHook | None:
    hook = _ACTIVE_HOOK.one(hook_id=hook_id)
    expected = hook.secret if hook else secrets.token_urlsafe(32)
    if not presented or not hmac.compare_digest(expected.encode(), presented.encode()):
        return None
    return hook


def hook_receive(*, hook: FocusHook, body: dict) -> Note | None:
    """Apply one delivery. Unknown refs are acknowledged: Focus would retry them for nothing.

    Trust is decided here and in ``note_apply_hook``: the secret proves only that the sender
    can list this token's hooks at Focus. A hook speaks for its own company, environment and
    token; within those, it may settle a note waiting on Focus, while any other change is
    confirmed by reading Focus.
    """
    current = hook.empresa.focus_token_fingerprint(hook.environment)
    if not hook.token_fingerprint or hook.token_fingerprint != current:
        # Registered under a token the company no longer has (or no token at all).
        hook_record_refusal(hook=hook, body=body, reason="token_replaced")
        return None
    if hook.event == "inutilizacao":
        # An inutilização body (a voided range), not a note's consulta.
        from fiscal.inutilizacoes import inutilizacao_apply_hook

        inutilizacao_apply_hook(hook=hook, body=body)
        return None
    with transaction.atomic(), timeline_batch():
        return note_apply_hook(hook=hook, body=body)


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
    # No savepoint: hook_receive's transaction is the one that counts, and nothing here
    # catches an error to carry on inside it.
    with transaction.atomic(savepoint=False):
        note = _HOOKED_NOTE.one(ref=ref, empresa_id=hook.empresa_id,
                                environment=hook.environment)
        if note is None:
            reason = ("other_company_or_environment"
                      if ref and Note.objects.filter(upstream_ref=ref).exists() else "unknown_ref")
            hook_record_refusal(hook=hook, body=body, reason=reason)
            return None
        note.empresa = hook.empresa  # the same row (the filter above), already in memory
        _touch(hook)
        waiting = note.status == NoteStatus.PROCESSANDO
        if waiting and (not status or status == note.status or status in _HOOK_SETTLES):
            note_event(note, NoteEvent.Kind.HOOK_RECEIVED, f"Focus hook {hook.event}",
                       status=status)
            note.in_doubt = False
            apply_upstream(note, body, source="hook", save=False)
            if note.status in FINAL_STATUSES and not still_pending(note) and not note.claim_token:
                note.next_action = NextAction.NONE
                note.next_action_at = None
            timeline_save(note, update_fields=[*UPSTREAM_FIELDS, "in_doubt"])
            return note
        # Only a change the note could make is worth a read: statuses never go backwards, so
        # "autorizado" for a cancelled note (or an unknown word) is not asked about.
        # Our own cancel in flight: Focus's hook of it can outrun the answer to our DELETE.
        # That answer (or the operation's own read if it is lost) settles the note; a read
        # now would only spend the budget.
        ours = status == NoteStatus.CANCELADO and note.fiscal_events.filter(
            kind=FiscalEvent.Kind.CANCELAMENTO, status=FiscalEvent.Status.PENDING).exists()
        news = not ours and (
            status in ALLOWED_TRANSITIONS.get(note.status, ()) or still_pending(note))
        if ours:
            said = f"says {status} of a {note.status} note: our cancel in flight settles it"
        elif news:
            said = (f"says {status} of a {note.status} note, not applied; confirming with a "
                    "read of Focus")
        else:
            said = "nothing new"
        note_event(note, NoteEvent.Kind.HOOK_RECEIVED, f"Focus hook {hook.event}: {said}",
                   status=status)
    if news:
        note_request_sync(note=note, reason=f"confirm what a hook said ({status})")
    return note


# How stale FocusHook.last_received_at may be: "Focus still reaches us" for the staff and the
# reconcile, not an exact time. One UPDATE per hook and minute, not per delivery.
_TOUCH_EVERY = timedelta(seconds=60)


def _touch(hook: FocusHook) -> None:
    at = now()
    if hook.last_received_at is None or at - hook.last_received_at >= _TOUCH_EVERY:
        FocusHook.objects.filter(pk=hook.pk).update(last_received_at=at)
        hook.last_received_at = at


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


@csrf_exempt
@require_POST
def focus_hook_receiver(request: HttpRequest, hook_id: int) -> JsonResponse:
    """Where Focus posts our hooks. Answers 2xx only once the delivery is recorded."""
    hook = hook_authenticate(hook_id=hook_id, presented=request.headers.get("Authorization"))
    if hook is None:
        return JsonResponse({"codigo": "permissao_negada", "mensagem": "hook desconhecido"},
                            status=403)
    try:
        body = StrictJSONParser().parse(request, "application/json", {})
    except Exception:  # noqa: BLE001 - any unreadable body is the sender's fault
        return JsonResponse({"codigo": "requisicao_invalida", "mensagem": "JSON inválido"},
                            status=400)
    if not isinstance(body, dict):
        return JsonResponse({"codigo": "requisicao_invalida", "mensagem": "JSON inválido"},
                            status=400)
    note = hook_receive(hook=hook, body=body)
    return JsonResponse({"recebido": True, "nota": bool(note)})
