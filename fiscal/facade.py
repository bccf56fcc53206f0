"""The Focus-compatible facade for notes: POST /v2/<doc>?ref=, GET /v2/<doc>/<ref>."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import FocusAPIView
from core.errors import FocusError
from core.parsers import StrictJSONParser
from fiscal import operations, selectors, services, tasks
from fiscal.hooks import hook_authenticate, hook_receive
from fiscal.models import FiscalEvent, NoteStatus
from fiscal.render import note_consulta


def _rewrite_answer(note: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Focus's own answer, with our ref and our file paths."""
    rendered = note_consulta(note)
    return {**body, **{k: v for k, v in rendered.items() if k in body or k == "ref"}}


class NoteEmitFacade(FocusAPIView):
    @extend_schema(exclude=True)
    def post(self, request: Request, doc_type: str) -> Response:
        params = {}
        forma = request.query_params.get("forma_emissao")
        if doc_type == "nfce" and forma is not None:
            # Manual offline contingency: the tenant's own número/série (focus-nfe-api-v2.txt).
            if forma != "offline":
                raise FocusError("forma_emissao_nao_informada",
                                 'Parâmetro "forma_emissao" inválido ou não informado')
            params["forma_emissao"] = forma
        accepted = services.note_accept(
            api_key=self.api_key, doc_type=doc_type, ref=request.query_params.get("ref"),
            payload=request.data, params=params,
        )
        note = accepted.note
        if settings.FG_INLINE_SUBMIT or doc_type == "nfce":
            # Persisted and committed first; now try Focus within a short deadline so the
            # tenant sees Focus's own answer. Past it, the note carries on in the background.
            # NFCe is synchronous at Focus, so it is synchronous here too (longer deadline).
            timeout = (settings.FG_NFCE_INLINE_TIMEOUT if doc_type == "nfce"
                       else settings.FG_INLINE_SUBMIT_TIMEOUT)
            result = services.note_run_step(
                note_id=note.pk, token=accepted.claim_token, urgent=True, timeout=timeout,
            )
            note = result.note
            if result.upstream_status is not None:
                body = result.upstream_body if isinstance(result.upstream_body, dict) else {}
                if result.upstream_status >= 400:
                    return Response(body, status=result.upstream_status)
                return Response(_rewrite_answer(note, body), status=result.upstream_status)
        else:
            tasks.enqueue_step(note.pk, "submit", accepted.claim_token)
        status_code = 201 if note.status != NoteStatus.PROCESSANDO else 202
        return Response(note_consulta(note), status=status_code)


class NoteQueryFacade(FocusAPIView):
    @extend_schema(exclude=True)
    def get(self, request: Request, doc_type: str, ref: str) -> Response:
        note = selectors.note_by_ref(
            tenant=self.tenant, environment=self.environment, doc_type=doc_type, ref=ref
        )
        if note is None:
            raise FocusError("nao_encontrado", "Nota fiscal não encontrada", status_code=404)
        completa = request.query_params.get("completa") == "1"
        return Response(note_consulta(note, completa=completa))

    @extend_schema(exclude=True)
    def delete(self, request: Request, doc_type: str, ref: str) -> Response:
        """Cancelamento. Focus also reads the justificativa from the query string."""
        data = {**request.query_params.dict(), **_body_object(request.data)}
        data.pop("token", None)
        return _operation(self, doc_type, ref, FiscalEvent.Kind.CANCELAMENTO, data)


def _body_object(data: Any) -> dict[str, Any]:
    """An operation's body: a JSON object, or nothing at all. A list or a bare string is a
    request no Focus operation understands; refused before anything is looked up."""
    if not data:
        return {}
    if not isinstance(data, dict):
        raise FocusError("requisicao_invalida", "O corpo da requisição deve ser um objeto JSON")
    return data


def _operation(view: FocusAPIView, doc_type: str, ref: str, kind: str, data: Any) -> Response:
    data = _body_object(data)
    result = operations.operation_request(api_key=view.api_key, doc_type=doc_type, ref=ref,
                                          kind=kind, data=data)
    return Response(result.body, status=result.status_code)


_SUFFIX_KINDS = {
    ("POST", "carta_correcao"): FiscalEvent.Kind.CARTA_CORRECAO,
    ("POST", "ator_interessado"): FiscalEvent.Kind.ATOR_INTERESSADO,
    ("POST", "insucesso_entrega"): FiscalEvent.Kind.INSUCESSO_ENTREGA,
    ("DELETE", "insucesso_entrega"): FiscalEvent.Kind.CANCELAMENTO_INSUCESSO,
    ("POST", "email"): FiscalEvent.Kind.EMAIL,
}


class NoteOperationFacade(FocusAPIView):
    """POST/DELETE /v2/<doc>/<ref>/<operation>."""

    def _dispatch(self, request: Request, doc_type: str, ref: str, operation: str) -> Response:
        kind = _SUFFIX_KINDS.get((request.method, operation))
        if kind is None:
            raise FocusError("nao_encontrado", "Operação não encontrada", status_code=404)
        return _operation(self, doc_type, ref, kind, request.data)

    @extend_schema(exclude=True)
    def post(self, request: Request, doc_type: str, ref: str, operation: str) -> Response:
        return self._dispatch(request, doc_type, ref, operation)

    @extend_schema(exclude=True)
    def delete(self, request: Request, doc_type: str, ref: str, operation: str) -> Response:
        return self._dispatch(request, doc_type, ref, operation)


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
