from __future__ import annotations

from django.urls import path, re_path

from fiscal.file_links import LINK_TOKEN_PATTERN
from storage import api, facade

urlpatterns = [
    # The caminho_* links of the facade's answers (fiscal/file_links.py): no key needed.
    re_path(rf"^v2/arquivos/(?P<token>{LINK_TOKEN_PATTERN})/(?P<filename>[A-Za-z0-9._-]+)$",
            facade.ArquivoLinkFacade.as_view()),
    # The older keyed paths, for the key's tenant.
    path("v2/arquivos/<int:note_id>/tentativa-<int:attempt>/<str:name>",
         facade.ArquivoFacade.as_view()),
    path("v2/arquivos/<int:note_id>/<str:name>", facade.ArquivoFacade.as_view()),
    path("api/v1/notes/<int:pk>/artifacts", api.NoteArtifactListApi.as_view()),
    path("api/v1/artifacts/<int:pk>/download", api.ArtifactDownloadApi.as_view()),
    path("api/v1/empresas/<int:pk>/archive.zip", api.EmpresaArchiveZipApi.as_view()),
]
