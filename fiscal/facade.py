"""The Focus-compatible facade of the fiscal app: notes (POST /v2/<doc>?ref=, GET and DELETE
/v2/<doc>/<ref>, operations), inutilização, importação, DANFe preview, lotes RPS.

Thin: authenticate (FocusAPIView), hand the request to one service, render Focus's answer.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import FocusAPIView
from core.errors import FocusError
from fiscal import (
    consulta,
    danfe,
    emission,
    importacao,
    inutilizacoes,
    lotes,
    operations,
    selectors,
)
from fiscal.focus.client import FocusFile
from fiscal.focus.note_operations import NOTE_OPERATIONS
from fiscal.inline import RateLimitedError
from fiscal.models import FiscalEvent, NoteStatus
from fiscal.render import note_consulta
from fiscal.steps import StepResult


def _rewrite_answer(note: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Focus's own answer, with our ref and our file paths."""
    rendered = note_consulta(note)
    return {**body, **{k: v for k, v in rendered.items() if k in body or k == "ref"}}


def render_step(result: StepResult) -> Response:
    """A submit's answer as Focus gives it: its own answer when it gave one in time (our ref
    and file paths in it), else the note as it stands.

    A hook or a worker may settle the note between Focus's answer and this render: then the
    answer is the note as it stands, with the code Focus gives a POST for that status (202
    while processing, 201 once settled, as its NFCe answers), never Focus's 202 body under a
    newer status."""
    note = result.note
    if result.upstream_status is not None:
        body = result.upstream_body if isinstance(result.upstream_body, dict) else {}
        if result.upstream_status >= 400:
            return Response(body, status=result.upstream_status)
        if body.get("status", note.status) == note.status:
            return Response(_rewrite_answer(note, body), status=result.upstream_status)
    status_code = 201 if note.status != NoteStatus.PROCESSANDO else 202
    return Response(note_consulta(note), status=status_code)


class FocusCallView(FocusAPIView):
    """A facade view whose request may call Focus inline: a 429 carries Focus's Rate-Limit-*
    and Retry-After (over the tenant's own budget headers, which describe another limit)."""

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, RateLimitedError):
            # TenantAPIView.finalize_response writes these onto the answer.
            self.request.rate_limit_headers = {
                **getattr(self.request, "rate_limit_headers", {}), **exc.headers()}
        return super().handle_exception(exc)


class NoteEmitFacade(FocusAPIView):
    def post(self, request: Request, doc_type: str) -> Response:
        return render_step(emission.note_emit(
            api_key=self.api_key, doc_type=doc_type, ref=request.query_params.get("ref"),
            payload=request.data, forma_emissao=request.query_params.get("forma_emissao"),
        ))


class NoteQueryFacade(FocusCallView):
    def get(self, request: Request, doc_type: str, ref: str) -> Response:
        note = selectors.note_at_focus(
            tenant=self.tenant, environment=self.environment, doc_type=doc_type, ref=ref
        )
        if note is None:
            raise FocusError("nao_encontrado", "Nota fiscal não encontrada", status_code=404)
        completa = request.query_params.get("completa") == "1"
        return Response(consulta.note_read(note=note, completa=completa))

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


# (method, path suffix) -> operation, as Focus routes them (cancelamento is the note's DELETE).
_SUFFIX_KINDS = {(method, suffix): name for name, (method, suffix) in NOTE_OPERATIONS.items()
                 if suffix}
# The suffixes the routes accept (fiscal/urls.py).
OPERATION_SUFFIXES = sorted({suffix for _, suffix in _SUFFIX_KINDS})


class NoteOperationFacade(FocusCallView):
    """POST/DELETE /v2/<doc>/<ref>/<operation>."""

    def _dispatch(self, request: Request, doc_type: str, ref: str, operation: str) -> Response:
        kind = _SUFFIX_KINDS.get((request.method, operation))
        if kind is None:
            raise FocusError("nao_encontrado", "Operação não encontrada", status_code=404)
        return _operation(self, doc_type, ref, kind, request.data)

    def post(self, request: Request, doc_type: str, ref: str, operation: str) -> Response:
        return self._dispatch(request, doc_type, ref, operation)

    def delete(self, request: Request, doc_type: str, ref: str, operation: str) -> Response:
        return self._dispatch(request, doc_type, ref, operation)


# --- Focus's side endpoints: inutilização, importação, DANFe preview, lotes RPS. Importação,
# DANFe and lotes take their body as sent (raw XML, JSON or a text file, whatever the
# Content-Type), as Focus does.



def _raw(answer: FocusFile) -> HttpResponse:
    return HttpResponse(answer.content, status=answer.status_code,
                        content_type=answer.content_type)


class InutilizacaoFacade(FocusCallView):
    def post(self, request: Request, doc_type: str) -> Response:
        answer = inutilizacoes.inutilizacao_request(
            api_key=self.api_key, doc_type=doc_type, data=request.data
        )
        return Response(answer.body, status=answer.status_code)


class InutilizacaoListingFacade(FocusAPIView):
    """GET /v2/<nfe|nfce>/inutilizacoes: the company's voided ranges, a bare JSON array."""

    def get(self, request: Request, doc_type: str) -> Response:
        return Response(inutilizacoes.inutilizacao_listing(
            api_key=self.api_key, doc_type=doc_type, params=request.query_params
        ))


class ImportacaoFacade(FocusAPIView):
    """A note like any other (fiscal/emission.py): rendered as NoteEmitFacade renders."""

    def post(self, request: Request) -> Response:
        return render_step(importacao.importacao_request(
            api_key=self.api_key, ref=request.query_params.get("ref"), xml=request.body
        ))


class DanfePreviewFacade(FocusCallView):
    def post(self, request: Request) -> HttpResponse:
        return _raw(danfe.danfe_preview(api_key=self.api_key, body=request.body))


class LoteRpsCreateFacade(FocusCallView):
    def post(self, request: Request) -> HttpResponse:
        return _raw(lotes.lote_create(
            api_key=self.api_key, ref=request.query_params.get("ref"), body=request.body
        ))


class LoteRpsFacade(FocusCallView):
    def get(self, request: Request, ref: str) -> HttpResponse:
        return _raw(lotes.lote_get(api_key=self.api_key, ref=ref))


class LoteRpsRespostaFacade(FocusCallView):
    def post(self, request: Request, ref: str) -> HttpResponse:
        return _raw(lotes.lote_resposta(api_key=self.api_key, ref=ref, body=request.body))
