"""Focus-style hooks under /v2/hooks, and the note hook re-send /v2/<doc>/<ref>/hook.

Reference: SUPPLEMENT.md "Hooks (gatilhos)" and FocusNFe/api-doc ``_webhooks.md``. A hook is an
Endpoint with ``format = focus`` and ``focus_event`` set; ``FOCUS_EVENTS`` maps Focus's
event names onto the endpoint's document-type and event-type filters. Hooks belong to a token,
so they are listed per tenant and environment (the key's). Deliberate differences: hooks are
signed with Standard Webhooks headers as well (Focus receivers ignore them), ``authorization``
is answered masked after the creation's answer (it is a secret we keep), and events for
documents the gateway does not handle (``nfe_recebida``, ``cte``, ``mdfe``, ...) are refused
by name.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from core.api import FocusAPIView
from core.documents import normalize
from core.errors import FocusError
from fiscal.selectors import note_at_focus
from tenants import selectors as tenant_selectors
from tenants.models import Empresa
from webhooks import selectors
from webhooks.endpoints import (
    FOCUS_EVENTS,
    FOCUS_HOOKS_PER_EVENT,
    authorization_refusal,
    endpoint_create,
    endpoint_delete,
    url_refusal,
)
from webhooks.events import note_resend
from webhooks.models import Endpoint, EndpointFormat
from webhooks.serializers import HookInputSerializer, hook_representation

_KNOWN_FOCUS_EVENTS = {
    "nfe", "nfse", "nfsen", "nfce_contingencia", "nfce_correcao_timeout", "inutilizacao",
    "nfe_recebida", "nfe_recebida_falha_consulta", "nfse_recebida", "cte_recebida", "cte",
    "mdfe", "nfcom",
}


def _invalid(mensagem: str) -> FocusError:
    return FocusError("requisicao_invalida", mensagem, status_code=400)


def _not_found() -> FocusError:
    return FocusError("nao_encontrado", "Gatilho não encontrado.", status_code=404)


def _hook_input(data: object) -> dict:
    serializer = HookInputSerializer(data=data)
    if not serializer.is_valid():
        errors = serializer.errors
        if "event" in errors:
            raise _invalid('Parâmetro "event" deve ser um evento válido.')
        if "url" in errors:
            raise _invalid("URL inválida: (ausente)")
        field = next(iter(errors))
        raise _invalid(f'Parâmetro "{field}" inválido.')
    return serializer.validated_data


def _empresa(view: FocusAPIView, data: dict) -> Empresa | None:
    cnpj, cpf = normalize(data.get("cnpj") or ""), normalize(data.get("cpf") or "")
    if cnpj and cpf:
        raise _invalid("Os campos cnpj e cpf são mutuamente excludentes.")
    if not (cnpj or cpf):
        return None
    empresa = tenant_selectors.empresa_list(
        tenant=view.tenant, cnpj=cnpj or None, cpf=cpf or None
    ).first()
    if empresa is None:
        raise _invalid(f"Empresa não encontrada para este token: {cnpj or cpf}")
    return empresa


class HooksFacade(FocusAPIView):
    def get(self, request: Request) -> Response:
        hooks = selectors.hook_list(tenant=self.tenant, environment=self.environment)
        return Response([hook_representation(hook) for hook in hooks])

    def post(self, request: Request) -> Response:
        data = _hook_input(request.data)
        event = data["event"].strip()
        if event not in _KNOWN_FOCUS_EVENTS:
            raise _invalid('Parâmetro "event" deve ser um evento válido.')
        if event not in FOCUS_EVENTS:
            raise _invalid(f'Evento "{event}" não é suportado por este gateway.')
        url = data["url"].strip()
        reason = url_refusal(url)
        if reason:
            raise _invalid(f"URL inválida: {url}")
        authorization = data.get("authorization") or ""
        if authorization_refusal(authorization):
            raise _invalid('Parâmetro "authorization" inválido: use apenas caracteres ASCII '
                           "visíveis, sem quebras de linha ou caracteres de controle.")
        empresa = _empresa(self, data)
        existing = selectors.hook_list(tenant=self.tenant, environment=self.environment).filter(
            focus_event=event, empresa=empresa
        )
        if existing.count() >= FOCUS_HOOKS_PER_EVENT:
            raise _invalid(
                f"Limite de {FOCUS_HOOKS_PER_EVENT} gatilhos por empresa para o "
                f'evento "{event}" atingido.'
            )
        doc_types, event_types = FOCUS_EVENTS[event]
        created = endpoint_create(
            tenant=self.tenant, environment=self.environment, url=url, event_types=event_types,
            doc_types=doc_types, empresa=empresa, format=EndpointFormat.FOCUS,
            authorization=authorization,
            authorization_header=data.get("authorization_header") or "",
            focus_event=event,
        )
        return Response(hook_representation(created.endpoint, reveal_authorization=True))


class HookFacade(FocusAPIView):
    def _hook(self, hook_id: str) -> Endpoint:
        hook = selectors.hook_get(tenant=self.tenant, environment=self.environment,
                                  public_id=hook_id)
        if hook is None:
            raise _not_found()
        return hook

    def get(self, request: Request, hook_id: str) -> Response:
        hook = self._hook(hook_id)
        return Response(hook_representation(hook, selectors.hook_health(endpoint=hook)))

    def delete(self, request: Request, hook_id: str) -> Response:
        hook = self._hook(hook_id)
        endpoint_delete(endpoint=hook)
        return Response({**hook_representation(hook), "deleted": True})


class NoteHookResendFacade(FocusAPIView):
    """POST /v2/<doc>/<ref>/hook: re-fire the note's notification to every hook of it.

    Focus answers the array of hooks it fired (empty when none); so do we, in hook shape, for
    every endpoint the note's current consulta goes to.
    """

    def post(self, request: Request, doc_type: str, ref: str) -> Response:
        # Not a note Focus refused at its first validation: Focus holds no such note.
        note = note_at_focus(tenant=self.tenant, environment=self.environment,
                             doc_type=doc_type, ref=ref)
        if note is None:
            raise FocusError("nao_encontrado", "Nota fiscal não encontrada.", status_code=404)
        endpoints = note_resend(tenant=self.tenant, note=note)
        return Response([hook_representation(endpoint) for endpoint in endpoints])
