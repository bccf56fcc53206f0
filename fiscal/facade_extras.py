"""Facade views for Focus's side endpoints: inutilização, importação, DANFe preview, lotes RPS.

Thin: authenticate (FocusAPIView), hand the request to one service, render Focus's answer.
Importação, DANFe and lotes take their body as sent (raw XML, JSON or a text file, whatever the
Content-Type), as Focus does.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import FocusAPIView
from fiscal import extras, inutilizacoes
from fiscal.facade import render_step
from fiscal.focus.client import FocusFile
from fiscal.inline import RateLimitedError


class ExtrasFacadeView(FocusAPIView):
    def handle_exception(self, exc: Exception) -> Any:
        response = super().handle_exception(exc)
        if isinstance(exc, RateLimitedError):
            response["Retry-After"] = str(exc.retry_after)
        return response


def _raw(answer: FocusFile) -> HttpResponse:
    return HttpResponse(answer.content, status=answer.status_code,
                        content_type=answer.content_type)


class InutilizacaoFacade(ExtrasFacadeView):
    @extend_schema(exclude=True)
    def post(self, request: Request, doc_type: str) -> Response:
        answer = inutilizacoes.inutilizacao_request(
            api_key=self.api_key, doc_type=doc_type, data=request.data
        )
        return Response(answer.body, status=answer.status_code)


class ImportacaoFacade(ExtrasFacadeView):
    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        return render_step(extras.importacao_request(
            api_key=self.api_key, ref=request.query_params.get("ref"), xml=request.body
        ))


class DanfePreviewFacade(ExtrasFacadeView):
    @extend_schema(exclude=True)
    def post(self, request: Request) -> HttpResponse:
        return _raw(extras.danfe_preview(api_key=self.api_key, body=request.body))


class LoteRpsCreateFacade(ExtrasFacadeView):
    @extend_schema(exclude=True)
    def post(self, request: Request) -> HttpResponse:
        return _raw(extras.lote_create(
            api_key=self.api_key, ref=request.query_params.get("ref"), body=request.body
        ))


class LoteRpsFacade(ExtrasFacadeView):
    @extend_schema(exclude=True)
    def get(self, request: Request, ref: str) -> HttpResponse:
        return _raw(extras.lote_get(api_key=self.api_key, ref=ref))


class LoteRpsRespostaFacade(ExtrasFacadeView):
    @extend_schema(exclude=True)
    def post(self, request: Request, ref: str) -> HttpResponse:
        return _raw(extras.lote_resposta(api_key=self.api_key, ref=ref, body=request.body))
