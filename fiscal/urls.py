"""Routes of the fiscal app: its native API, its part of the Focus-compatible facade (same paths
as Focus NFe v2) and the receiver of Focus's hooks.

The side endpoints come before the generic /v2/<doc>/<ref> routes, so /v2/nfe/inutilizacao(oes),
/v2/nfe/importacao and /v2/nfe/danfe reach their views and not the note consulta.
"""

from __future__ import annotations

from django.urls import path, re_path

from fiscal import api, facade, hooks
from fiscal.validation import DOC_TYPE_PATTERN, REF_PATTERN

_DOC = rf"(?P<doc_type>{DOC_TYPE_PATTERN})"
_REF = rf"(?P<ref>{REF_PATTERN})"
_OPERATION = rf"(?P<operation>{'|'.join(facade.OPERATION_SUFFIXES)})"

urlpatterns = [
    path("api/v1/notes", api.NoteListApi.as_view()),
    path("api/v1/notes/<int:pk>", api.NoteDetailApi.as_view()),
    path("api/v1/notes/<int:pk>/sync", api.NoteSyncApi.as_view()),
    path("api/v1/fiscal-events", api.FiscalEventListApi.as_view()),
    path("api/v1/inutilizacoes", api.InutilizacaoListApi.as_view()),
    path("api/v1/inutilizacoes/<int:pk>", api.InutilizacaoDetailApi.as_view()),
    path("focus/hooks/<int:hook_id>", hooks.focus_hook_receiver),
    # Focus's side endpoints: before the generic /v2/<doc>/<ref>.
    re_path(r"^v2/(?P<doc_type>nfe|nfce)/inutilizacao$", facade.InutilizacaoFacade.as_view()),
    re_path(r"^v2/(?P<doc_type>nfe|nfce)/inutilizacoes$",
            facade.InutilizacaoListingFacade.as_view()),
    path("v2/nfe/importacao", facade.ImportacaoFacade.as_view()),
    path("v2/nfe/danfe", facade.DanfePreviewFacade.as_view()),
    path("v2/lotes_rps", facade.LoteRpsCreateFacade.as_view()),
    re_path(rf"^v2/lotes_rps/{_REF}$", facade.LoteRpsFacade.as_view()),
    re_path(rf"^v2/lotes_rps/{_REF}/resposta$", facade.LoteRpsRespostaFacade.as_view()),
    # Notes.
    re_path(rf"^v2/{_DOC}$", facade.NoteEmitFacade.as_view()),
    re_path(rf"^v2/{_DOC}/{_REF}$", facade.NoteQueryFacade.as_view()),
    re_path(rf"^v2/{_DOC}/{_REF}/{_OPERATION}$", facade.NoteOperationFacade.as_view()),
]
