"""Focus's /v2/empresas with a tenant's account (reseller) token: tenants.focus_account's gateway.

Reference: FocusNFe/api-doc ``source/includes/_empresas.md``; SUPPLEMENT.md "Empresas". The
empresas API exists only in produção (``dry_run=1`` simulates), so every call goes to the
production host. Calls take from the account token's shared budget like every Focus call, and
every failure leaves here as a tenants.focus_account error. The body (certificate, password)
is never logged: the client logs method, path, status and a token fingerprint only.
"""

from __future__ import annotations

from typing import Any

from fiscal.focus import budget
from fiscal.focus.client import (
    FocusClient,
    FocusMalformed,
    FocusNotFound,
    FocusRateLimited,
    FocusRejected,
    FocusResponse,
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
        self.client = FocusClient(environment=Environment.PRODUCAO, token=token)

    def create(self, data: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
        return self._call("POST", "/v2/empresas", params=_dry(dry_run), body=data)

    def update(self, focus_id: str, data: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
        return self._call("PUT", f"/v2/empresas/{focus_id}", params=_dry(dry_run), body=data)

    def get(self, focus_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v2/empresas/{focus_id}")

    def find(self, *, cnpj: str, cpf: str) -> dict[str, Any] | None:
        params = {"cnpj": cnpj} if cnpj else {"cpf": cpf}
        found = self._call("GET", "/v2/empresas", params=params)
        return found[0] if isinstance(found, list) and found else None

    def _call(self, method: str, path: str, *, params: dict[str, str] | None = None,
              body: dict[str, Any] | None = None) -> Any:
        decision = budget.acquire(fingerprint=self.client.fingerprint, tenant_id=self.tenant.pk,
                                  urgent=True)
        if not decision.allowed:
            raise FocusAccountRateLimited(decision.retry_after)
        try:
            response: FocusResponse = self.client.request(method, path, params=params,
                                                          json_body=body)
        except FocusRateLimited as exc:
            budget.observe(fingerprint=self.client.fingerprint, remaining=0,
                           reset=exc.retry_after)
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
        if response.rate_limit is not None:
            budget.observe(fingerprint=self.client.fingerprint,
                           remaining=response.rate_limit.remaining,
                           reset=response.rate_limit.reset)
        return response.body


def _dry(dry_run: bool) -> dict[str, str] | None:
    return {"dry_run": "1"} if dry_run else None
