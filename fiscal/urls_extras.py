"""Routes of the side endpoints. Included by config/urls.py before the generic
/v2/<doc>/<ref> routes, so /v2/nfe/inutilizacao, /v2/nfe/importacao and /v2/nfe/danfe reach
these views and not the note consulta."""

from __future__ import annotations

from django.urls import path, re_path

from fiscal import api_extras, facade_extras
from fiscal.validation import REF_PATTERN

_REF = rf"(?P<ref>{REF_PATTERN})"

urlpatterns = [
    re_path(r"^v2/(?P<doc_type>nfe|nfce)/inutilizacao$",
            facade_extras.InutilizacaoFacade.as_view()),
    path("v2/nfe/importacao", facade_extras.ImportacaoFacade.as_view()),
    path("v2/nfe/danfe", facade_extras.DanfePreviewFacade.as_view()),
    path("v2/lotes_rps", facade_extras.LoteRpsCreateFacade.as_view()),
    re_path(rf"^v2/lotes_rps/{_REF}$", facade_extras.LoteRpsFacade.as_view()),
    re_path(rf"^v2/lotes_rps/{_REF}/resposta$", facade_extras.LoteRpsRespostaFacade.as_view()),
    path("api/v1/inutilizacoes", api_extras.InutilizacaoListApi.as_view()),
    path("api/v1/inutilizacoes/<int:pk>", api_extras.InutilizacaoDetailApi.as_view()),
]
