"""Base views. The tenant is resolved once, from the API key, and every view passes it on."""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.request import Request
from rest_framework.views import APIView

from core.errors import FocusError, focus_exception_handler
from core.parsers import FocusBodyParser


class TenantAPIView(APIView):
    """Native API view: authenticated by API key; ``self.tenant`` scopes every selector.

    The key and its tenant are what the authentication class (tenants/auth.py) put on the
    request; core only passes them on, so it never names the tenants app above it.
    """

    tenant: Any  # tenants.models.Tenant
    api_key: Any  # tenants.models.ApiKey
    # Error statuses per method that only the services know of (a 409 conflict, ...), for
    # the OpenAPI document; the rest are derived from the view (core.schema.AutoSchema).
    error_statuses: ClassVar[dict[str, tuple[int, ...]]] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.api_key = request.auth
        self.tenant = request.auth.tenant

    def finalize_response(self, request: Request, response: Any, *args: Any,
                          **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Announced on every answer, errors included (set by TenantRateThrottle).
        for name, value in getattr(request, "rate_limit_headers", {}).items():
            response[name] = value
        return response

    @property
    def environment(self) -> str:
        return self.api_key.environment


class FocusAPIView(TenantAPIView):
    """Facade view under /v2: Focus's error shape, Focus's codes, Focus's body parsing."""

    parser_classes = [FocusBodyParser]
    # Focus's documentation is the facade's contract (a drop-in for Focus): our OpenAPI
    # document describes the native API only.
    schema = None

    def get_exception_handler(self):  # type: ignore[no-untyped-def]
        return focus_exception_handler

    def http_method_not_allowed(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        # Focus answers a method its resource does not take with 404 nao_encontrado, "Utilize
        # o método POST" (focus-nfe-api-v2.txt, NFe "Status API"), not 405.
        mensagem = ("Utilize o método POST" if "POST" in self.allowed_methods
                    else f"Método {request.method} não suportado neste recurso")
        raise FocusError("nao_encontrado", mensagem, status_code=404)
