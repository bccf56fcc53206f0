from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

from core.errors import focus_error_body, native_error_body
from core.logging import log_scope

logger = logging.getLogger("core.errors")

# Paths answered in Focus's shape; the native API's prefix in its own. Everything else (the
# admin, the docs) keeps Django's pages.
FOCUS_PREFIXES = ("/v2/", "/focus/")
NATIVE_PREFIXES = ("/api/",)


def is_api_path(path: str) -> bool:
    return path.startswith(FOCUS_PREFIXES + NATIVE_PREFIXES)


def error_response(request: HttpRequest, *, status: int, code: str, codigo: str, message: str,
                   mensagem: str) -> JsonResponse:
    """An error answered outside DRF, in the shape of the API the path belongs to."""
    if request.path.startswith(FOCUS_PREFIXES):
        return JsonResponse(focus_error_body(codigo, mensagem), status=status)
    return JsonResponse(native_error_body(code, message), status=status)


def not_found(request: HttpRequest) -> JsonResponse:
    return error_response(request, status=404, code="not_found", codigo="nao_encontrado",
                          message="Not found.", mensagem="Recurso não encontrado.")


def method_not_allowed(request: HttpRequest) -> JsonResponse:
    return error_response(request, status=405, code="method_not_allowed",
                          codigo="metodo_nao_permitido",
                          message=f'Method "{request.method}" not allowed.',
                          mensagem=f'Método "{request.method}" não permitido.')


def server_error(request: HttpRequest) -> JsonResponse:
    # Focus's own words for a 500 (focus-nfe-api-v2.txt, "Erros"); never the exception's text.
    return error_response(request, status=500, code="server_error", codigo="erro_interno",
                          message="Internal server error.",
                          mensagem="Ocorreu algum erro inesperado. Contate o suporte técnico.")


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return not_found(request)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if is_api_path(request.path):
        return server_error(request)
    from django.views.defaults import server_error as django_server_error

    return django_server_error(request)


# A request id from the proxy in front is kept when it looks like one (no spaces, no markup).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


class RequestContextMiddleware:
    """Every line logged for a request carries its id (the proxy's X-Request-Id or a new
    one), answered back in the X-Request-Id header; the tenant is bound by the API-key
    authentication (tenants/auth.py) once it is known."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        with log_scope(request_id=request_id):
            response = self.get_response(request)
        response["X-Request-Id"] = request_id
        return response


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


class ApiErrorShapeMiddleware:
    """Under the API prefixes every answer is JSON in the prefix's shape, DEBUG or not.

    Django answers an unknown route, a view's uncaught exception and a plain view's 405 with
    its own HTML (the technical pages in DEBUG, where handler404/handler500 are never called);
    these never reach DRF's exception handlers. So: unknown routes are answered here before
    resolution, uncaught exceptions in process_exception (logged with their traceback), and
    empty 405s are given a body. A NUL in the query string is refused here too, once for every
    endpoint: Postgres text refuses it, so it could only ever end as a 500.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api_path(request.path):
            return self.get_response(request)
        try:
            resolve(request.path_info)
        except Resolver404:
            return not_found(request)
        if any("\x00" in key or any("\x00" in v for v in values)
               for key, values in request.GET.lists()):
            return error_response(
                request, status=400, code="invalid_query", codigo="requisicao_invalida",
                message="The query string must not contain NUL.",
                mensagem="A query string não pode conter NUL.",
            )
        response = self.get_response(request)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
                "application/json"):
            allowed = response.get("Allow")
            response = method_not_allowed(request)
            if allowed:
                response["Allow"] = allowed
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path):
            return None
        if isinstance(exception, Http404):
            return not_found(request)
        if isinstance(exception, PermissionDenied):
            return error_response(request, status=403, code="permission_denied",
                                  codigo="permissao_negada", message="Permission denied.",
                                  mensagem="Permissão negada.")
        logger.error("Unhandled exception on %s %s", request.method, request.path,
                     exc_info=exception)
        return server_error(request)
