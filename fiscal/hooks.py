"""Focus hooks (gatilhos) the gateway keeps registered for each company, and their receiver.

Reference: SUPPLEMENT.md, "Hooks (gatilhos)". Focus authenticates its deliveries only with the
static ``authorization`` value we give it, so each hook has its own random secret.
"""

from __future__ import annotations

import hmac
import logging
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fiscal.focus.client import FocusClient, FocusNotFound, FocusUpstreamError
from fiscal.models import FocusHook, Note
from fiscal.services import hook_record_refusal, note_apply_hook
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


def hook_authenticate(*, hook_id: int, presented: str | None) -> FocusHook | None:
    hook = (
        FocusHook.objects.select_related("empresa")
        .defer("empresa__token_homologacao", "empresa__token_producao")  # not decrypted here
        .filter(pk=hook_id, is_active=True).first()
    )
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
    with transaction.atomic():
        return note_apply_hook(hook=hook, body=body)
