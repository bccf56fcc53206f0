"""The Focus-compatible facade for notes: POST /v2/<doc>?ref=, GET /v2/<doc>/<ref>."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import FocusAPIView
from core.errors import FocusError
from core.parsers import StrictJSONParser
from fiscal import emission, operations, selectors
from fiscal.hooks import hook_authenticate, hook_receive
from fiscal.models import FiscalEvent, NoteStatus
from fiscal.render import note_consulta
from fiscal.services import StepResult


def _rewrite_answer(note: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Focus's own answer, with our ref and our file paths."""
    rendered = note_consulta(note)
    return {**body, **{k: v for k, v in rendered.items() if k in body or k == "ref"}}


def render_step(result: StepResult) -> Response:
    """A submit's answer as Focus gives it: its own answer when it gave one in time (our ref
    and file paths in it), else the note as it stands (still processing: 202)."""
    note = result.note
    if result.upstream_status is not None:
        body = result.upstream_body if isinstance(result.upstream_body, dict) else {}
        if result.upstream_status >= 400:
            return Response(body, status=result.upstream_status)
        return Response(_rewrite_answer(note, body), status=result.upstream_status)
    status_code = 201 if note.status != NoteStatus.PROCESSANDO else 202
    return Response(note_consulta(note), status=status_code)


class NoteEmitFacade(FocusAPIView):
    @extend_schema(exclude=True)
    def post(self, request: Request, doc_type: str) -> Response:
        return render_step(emission.note_emit(
            api_key=self.api_key, doc_type=doc_type, ref=request.query_params.get("ref"),
            payload=request.data, forma_emissao=request.query_params.get("forma_emissao"),
        ))


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
