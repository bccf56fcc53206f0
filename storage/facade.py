"""The files behind the ``caminho_*`` links of the facade's answers (fiscal/file_links.py).

``GET /v2/arquivos/<token>/<file name>``: the signed link the answers carry, opened without
credentials, as clients open Focus's public links. ``GET /v2/arquivos/<note>/<name>`` and
``/v2/arquivos/<note>/tentativa-<n>/<name>``: the older keyed paths, still served to the key's
tenant. Either answers the archived bytes (a short-lived presigned redirect on S3, a stream on
the filesystem), archived on the way when they are not yet. Errors in Focus's shape.
"""

from __future__ import annotations

import re

from django.http import HttpResponse
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from core.api import FocusAPIView
from core.errors import FocusError, focus_exception_handler
from fiscal.file_links import file_link_open
from fiscal.models import Note
from fiscal.selectors import note_get
from storage.http import file_response
from storage.serving import FileNotFound, FileUnavailable, note_file_serve

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


def _not_found() -> FocusError:
    return FocusError("nao_encontrado", "Arquivo não encontrado.", status_code=404)


def _serve(note: Note, name: str, attempt: int | None) -> HttpResponse:
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


class ArquivoFacade(FocusAPIView):
    def get(self, request: Request, note_id: int, name: str,
            attempt: int | None = None) -> HttpResponse:
        if not _NAME.match(name):
            raise _not_found()
        note = note_get(tenant=self.tenant, environment=self.environment, pk=note_id)
        return _serve(note, name, attempt)


class ArquivoLinkFacade(APIView):
    """A signed link: the link is the credential (no key), so a client fetches it as it
    fetches Focus's public links. Anything but an intact, unexpired link is a 404."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    schema = None  # a facade path, like FocusAPIView's: not in our OpenAPI document

    def get_exception_handler(self):  # type: ignore[no-untyped-def]
        return focus_exception_handler

    def get(self, request: Request, token: str, filename: str) -> HttpResponse:
        link = file_link_open(token, filename)
        if link is None or not _NAME.match(link.name):
            raise _not_found()
        # The tenant and note the link was signed for, and nothing else.
        note = (Note.objects.select_related("empresa")
                .filter(pk=link.note_id, tenant_id=link.tenant_id).first())
        if note is None:
            raise _not_found()
        return _serve(note, link.name, link.attempt)
