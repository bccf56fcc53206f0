from __future__ import annotations

from django.urls import path

from storage import api, facade

urlpatterns = [
    # The caminho_* paths of the facade's answers (fiscal/render.gateway_file_path).
    path("v2/arquivos/<int:note_id>/tentativa-<int:attempt>/<str:name>",
         facade.ArquivoFacade.as_view()),
    path("v2/arquivos/<int:note_id>/<str:name>", facade.ArquivoFacade.as_view()),
    path("api/v1/notes/<int:pk>/artifacts", api.NoteArtifactListApi.as_view()),
    path("api/v1/artifacts/<int:pk>/download", api.ArtifactDownloadApi.as_view()),
    path("api/v1/empresas/<int:pk>/archive.zip", api.EmpresaArchiveZipApi.as_view()),
]
