"""Focus's /v2/empresas with a tenant's account (reseller) token: tenants.focus_account's gateway.

Reference: FocusNFe/api-doc ``source/includes/_empresas.md``; SUPPLEMENT.md "Empresas". The
empresas API exists only in produção (``dry_run=1`` simulates), so every call goes to the
production host. Calls take from the account token's shared budget like every Focus call, and
every failure leaves here as a tenants.focus_account error. The body (certificate, password)
is never logged: the client logs method, path, status and a token fingerprint only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fiscal.focus.client import (
    FocusClient,
    FocusMalformed,
    FocusNotFound,
    FocusRateLimited,
    FocusRejected,
    FocusTimeout,
    FocusUnavailable,
)
from tenants.focus_account import (
    FocusAccountInDoubt,
    FocusAccountRateLimited,
    FocusAccountRefused,
    FocusAccountUnavailable,
)
from tenants.models import Environment, Tenant


class FocusEmpresas:
    def __init__(self, tenant: Tenant, token: str) -> None:
        self.tenant = tenant
        self.client = FocusClient(environment=Environment.PRODUCAO, token=token,
                                  tenant_id=tenant.pk, urgent=True)

    def create(self, data: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
        return self._call(lambda: self.client.empresa_create(data, dry_run=dry_run))

    def update(self, focus_id: str, data: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
        return self._call(lambda: self.client.empresa_update(focus_id, data, dry_run=dry_run))

    def get(self, focus_id: str) -> dict[str, Any]:
        return self._call(lambda: self.client.empresa_get(focus_id))

    def find(self, *, cnpj: str, cpf: str) -> dict[str, Any] | None:
        found = self._call(lambda: self.client.empresas_find(cnpj=cnpj, cpf=cpf))
        return found[0] if isinstance(found, list) and found else None

    @staticmethod
    def _call(request: Callable[[], Any]) -> Any:
        """One call, its failures in tenants.focus_account's words."""
        try:
            return request()
        except FocusRateLimited as exc:  # Focus's 429, or the token's budget spent
            raise FocusAccountRateLimited(exc.retry_after) from None
        except FocusNotFound as exc:
            raise FocusAccountRefused(status_code=404, codigo="nao_encontrado",
                                      mensagem=exc.mensagem or "Empresa não encontrada",
                                      erros=None) from None
        except FocusRejected as exc:
            erros = exc.erros if isinstance(exc.erros, list) else None
            raise FocusAccountRefused(status_code=exc.status_code, codigo=exc.codigo,
                                      mensagem=exc.mensagem, erros=erros) from None
        except (FocusTimeout, FocusMalformed) as exc:
            raise FocusAccountInDoubt(str(exc)) from None
        except FocusUnavailable as exc:
            if exc.sent:
                raise FocusAccountInDoubt(str(exc)) from None
            raise FocusAccountUnavailable() from None
