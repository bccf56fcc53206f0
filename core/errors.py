"""One error type per API and one handler each.

- The native API (/api/v1) answers ``{"code", "message", "fields"}``.
- The Focus facade (/v2) answers Focus's ``{"codigo", "mensagem", "erros"}``.

Services raise ``ApiError`` (or ``FocusError`` for facade-only rules); the handlers also translate
DRF's and Django's own exceptions, so no view formats an error by hand.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response


class ApiError(exceptions.APIException):
    """An application error with a machine code, a message and optional per-field details."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    default_detail = "The request is invalid."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status_code: int | None = None,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(detail=message or self.default_detail, code=code or self.default_code)
        if status_code is not None:
            self.status_code = status_code
        self.code = code or self.default_code
        self.message = message or str(self.default_detail)
        self.fields = fields or {}


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


class FocusError(exceptions.APIException):
    """An error in Focus's own shape, for the /v2 facade."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(
        self,
        codigo: str,
        mensagem: str,
        *,
        status_code: int = 400,
        erros: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail=mensagem, code=codigo)
        self.status_code = status_code
        self.codigo = codigo
        self.mensagem = mensagem
        self.erros = erros


def flatten_errors(detail: Any) -> dict[str, list[str]]:
    """DRF validation details as {field: [messages]}; nested paths joined with dots."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            for sub, messages in flatten_errors(value).items():
                out[f"{key}.{sub}" if sub else str(key)] = messages
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {"": [str(item) for item in detail]}
        out = {}
        for index, value in enumerate(detail):
            for sub, messages in flatten_errors(value).items():
                out[f"{index}.{sub}" if sub else str(index)] = messages
        return out
    return {"": [str(detail)]}


def _as_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied()
    return exc


_PASSED_HEADERS = ("WWW-Authenticate", "Retry-After", "Allow")


def _passed_headers(exc: Exception, context: dict[str, Any]) -> dict[str, str]:
    """The headers DRF's own handler would set (challenge, Retry-After, Allow), nothing else."""
    # Imported here: rest_framework.views imports the authentication classes, which import the
    # services, which import this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return {}
    return {name: response[name] for name in _PASSED_HEADERS if response.has_header(name)}


_NATIVE_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "malformed_request",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.Throttled: "rate_limited",
}


def native_error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"code": code, "message": message, "fields": fields or {}}


def native_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _as_api_exception(exc)
    if isinstance(exc, FocusError):
        body = native_error_body(exc.codigo, exc.mensagem)
        return Response(body, status=exc.status_code)
    if isinstance(exc, ApiError):
        body = native_error_body(exc.code, exc.message, exc.fields)
    elif isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        general = fields.pop("", None) or fields.pop("non_field_errors", None)
        message = general[0] if general else "Some fields are invalid."
        body = native_error_body("validation_error", message, fields)
    elif isinstance(exc, exceptions.APIException):
        code = _NATIVE_CODES.get(type(exc), str(exc.default_code))
        body = native_error_body(code, str(exc.detail))
    else:
        return None
    return Response(body, status=exc.status_code, headers=_passed_headers(exc, context))


# Focus answers these codes (focus-nfe-api-v2.txt, "Erros").
_FOCUS_CODES: dict[type[exceptions.APIException], tuple[str, int]] = {
    exceptions.NotAuthenticated: ("permissao_negada", 403),
    exceptions.AuthenticationFailed: ("permissao_negada", 403),
    exceptions.PermissionDenied: ("permissao_negada", 403),
    exceptions.NotFound: ("nao_encontrado", 404),
    # Focus answers 415 for JSON it cannot parse.
    exceptions.ParseError: ("requisicao_invalida", 415),
    exceptions.UnsupportedMediaType: ("requisicao_invalida", 415),
    exceptions.MethodNotAllowed: ("metodo_nao_permitido", 405),
    exceptions.Throttled: ("limite_requisicoes", 429),
}

_FOCUS_MESSAGES = {
    "permissao_negada": "Acesso negado: token de acesso ausente, inválido ou revogado.",
    "nao_encontrado": "Recurso não encontrado.",
    "limite_requisicoes": "Limite de requisições por minuto excedido; aguarde Rate-Limit-Reset.",
}


def focus_error_body(codigo: str, mensagem: str, erros: list[dict] | None = None) -> dict:
    body: dict[str, Any] = {"codigo": codigo, "mensagem": mensagem}
    if erros:
        body["erros"] = erros
    return body


def focus_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _as_api_exception(exc)
    if isinstance(exc, FocusError):
        return Response(focus_error_body(exc.codigo, exc.mensagem, exc.erros), exc.status_code)
    if isinstance(exc, ApiError):
        return Response(focus_error_body(exc.code, exc.message), status=exc.status_code)
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        erros = [
            {"campo": field or None, "mensagem": message}
            for field, messages in fields.items()
            for message in messages
        ]
        first = erros[0]
        mensagem = (
            f"{first['campo']}: {first['mensagem']}" if first["campo"] else first["mensagem"]
        )
        return Response(focus_error_body("requisicao_invalida", mensagem, erros), status=400)
    if isinstance(exc, exceptions.APIException):
        codigo, status_code = _FOCUS_CODES.get(type(exc), ("requisicao_invalida", exc.status_code))
        mensagem = _FOCUS_MESSAGES.get(codigo) or str(exc.detail)
        headers = _passed_headers(exc, context)
        headers.pop("WWW-Authenticate", None)  # Focus answers 403 with no challenge
        return Response(focus_error_body(codigo, mensagem), status=status_code, headers=headers)
    return None
