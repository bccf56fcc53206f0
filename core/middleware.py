from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.errors import focus_error_body, native_error_body


def error_response(request: HttpRequest, *, status: int, code: str, codigo: str, message: str,
                   mensagem: str) -> JsonResponse:
    """An error answered outside DRF, in the shape of the API the path belongs to."""
    if request.path.startswith("/v2/"):
        return JsonResponse(focus_error_body(codigo, mensagem), status=status)
    return JsonResponse(native_error_body(code, message), status=status)


class BodySizeLimitMiddleware:
    """Refuse oversized bodies from their Content-Length, before anything reads them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.FG_MAX_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return error_response(
                request,
                status=413,
                code="payload_too_large",
                codigo="requisicao_invalida",
                message=f"The body is larger than {limit} bytes.",
                mensagem=f"O corpo da requisição excede {limit} bytes.",
            )
        return self.get_response(request)
