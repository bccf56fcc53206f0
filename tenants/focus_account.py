"""Companies provisioned at Focus with the tenant's Focus account (reseller) token.

The HTTP lives in ``fiscal/focus/empresas.py``, the one Focus edge (DESIGN.md §3); tenants sits
below fiscal and may not import it, so the edge registers itself here when Django starts
(``fiscal.apps``) and tenants asks for "the empresas gateway of this tenant" by this interface.
The errors are tenants' own, already translated at the edge: nothing here sees an httpx or a
fiscal exception.

Reference: FocusNFe/api-doc ``source/includes/_empresas.md``; SUPPLEMENT.md "Empresas".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from rest_framework import exceptions, status
from rest_framework.request import Request

from core.errors import ApiError
from tenants.models import Tenant


class FocusAccountRefused(ApiError):
    """Focus processed the request and refused it (a 4xx): Focus's own codigo and erros."""

    def __init__(self, *, status_code: int, codigo: str, mensagem: str,
                 erros: list[dict[str, Any]] | None) -> None:
        self.erros = [e for e in (erros or []) if isinstance(e, dict)]
        fields: dict[str, list[str]] = {}
        for erro in self.erros:
            fields.setdefault(str(erro.get("campo") or ""), []).append(str(erro.get("mensagem")))
        fields.pop("", None)
        super().__init__(mensagem or codigo, code=codigo, status_code=status_code, fields=fields)


class FocusAccountInDoubt(Exception):
    """No usable answer after the request left (timeout, reset, 5xx): Focus may have done it."""


class FocusAccountUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "focus_unavailable"
    default_detail = "Focus NFe could not be reached; nothing was changed here. Try again."


class FocusAccountRateLimited(exceptions.Throttled):
    """Focus's limit for the account token is spent (or would be): nothing was sent or written."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(int(retry_after + 0.999), 1)
        super().__init__(wait=self.retry_after)

    def headers(self) -> dict[str, str]:
        """Focus's own announcement of a spent limit, for the answer to the tenant."""
        return {"Rate-Limit-Remaining": "0", "Rate-Limit-Reset": str(self.retry_after),
                "Retry-After": str(self.retry_after)}


class EmpresasGateway(Protocol):
    """Focus's /v2/empresas for one account token. Each call answers Focus's company JSON."""

    def create(self, data: dict[str, Any], *, dry_run: bool) -> dict[str, Any]: ...

    def update(self, focus_id: str, data: dict[str, Any], *, dry_run: bool) -> dict[str, Any]: ...

    def get(self, focus_id: str) -> dict[str, Any]: ...

    def find(self, *, cnpj: str, cpf: str) -> dict[str, Any] | None: ...


GatewayFactory = Callable[[Tenant, str], EmpresasGateway]
_factory: GatewayFactory | None = None


def register(factory: GatewayFactory) -> None:
    global _factory
    _factory = factory


def gateway_for(tenant: Tenant) -> EmpresasGateway | None:
    """The tenant's empresas gateway at Focus, or None: without an account token, local only."""
    token = tenant.focus_account_token
    if not token:
        return None
    if _factory is None:
        raise ImproperlyConfigured("No Focus empresas gateway registered (is fiscal installed?)")
    return _factory(tenant, token)


@contextmanager
def announced(request: Request) -> Iterator[None]:
    """Focus's spent limit, announced to the tenant like Focus announces it (Rate-Limit-*)."""
    try:
        yield
    except FocusAccountRateLimited as exc:
        # TenantAPIView.finalize_response writes these onto every answer, errors included.
        request.rate_limit_headers = {**getattr(request, "rate_limit_headers", {}),
                                      **exc.headers()}
        # DRF's own Throttled: both APIs' handlers render it as their 429 with Retry-After.
        raise exceptions.Throttled(wait=exc.retry_after) from None
