"""The files behind the ``caminho_*`` paths of the facade's answers (fiscal/render.py).

``GET /v2/arquivos/<note>/<name>`` and ``/v2/arquivos/<note>/tentativa-<n>/<name>``: archived
bytes (a short-lived presigned redirect on S3, a stream on the filesystem), archived on the way
when they are not yet. Errors in Focus's shape.
"""

from __future__ import annotations

import re

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from core.api import FocusAPIView
from core.errors import FocusError
from fiscal.selectors import note_get
from storage.http import file_response
from storage.serving import FileNotFound, FileUnavailable, note_file_serve

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


def _not_found() -> FocusError:
    return FocusError("nao_encontrado", "Arquivo não encontrado.", status_code=404)


class ArquivoFacade(FocusAPIView):
    @extend_schema(exclude=True)
    def get(self, request: Request, note_id: int, name: str,
            attempt: int | None = None) -> HttpResponse:
        if not _NAME.match(name):
            raise _not_found()
        note = note_get(tenant=self.tenant, environment=self.environment, pk=note_id)
        try:
            served = note_file_serve(note=note, name=name, attempt=attempt)
        except FileNotFound:
            raise _not_found() from None
        except FileUnavailable:
            raise FocusError(
                "arquivo_indisponivel",
                "O arquivo ainda não está disponível; tente novamente em instantes.",
                status_code=503,
            ) from None
        return file_response(served)
