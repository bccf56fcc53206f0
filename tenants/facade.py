"""Focus-style company management under /v2/empresas, mapped onto the tenant's companies.

Deliberate differences from Focus (DESIGN.md §1): the token is a tenant API key, and
``token_producao`` / ``token_homologacao`` are answered masked — they are the upstream secrets
the gateway keeps for the tenant. DELETE disables the company instead of destroying it: its
notes must stay reachable for the retention period. A key sets only its own environment's
Focus token, as on the native API (403 ``permissao_negada`` otherwise, nothing written).

Every field of Focus's company is accepted (tenants.focus_fields). With the tenant's Focus
account token the company is created, changed and read at Focus (tenants.focus_account), and
Focus's refusals pass through in Focus's shape. Without one the company stays local, and the
secrets (certificate, passwords, CSC) are not kept: there is nowhere here to install them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.models import Count
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import FocusAPIView
from core.errors import ApiError, FocusError, flatten_errors
from core.params import query_int
from tenants import focus_account, selectors, services
from tenants.models import Empresa
from tenants.serializers import EmpresaInputSerializer, EmpresaOutputSerializer

PAGE_SIZE = 50  # Focus's page size for /v2/empresas
MAX_OFFSET = 2**31  # far past any tenant's companies, well within Postgres's OFFSET


def _validated(serializer: serializers.Serializer) -> dict:
    """Focus's answer for invalid company data: 422 erro_validacao with erros[campo]."""
    if not serializer.is_valid():
        erros = [
            {"codigo": "campo_invalido", "mensagem": message, "campo": field}
            for field, messages in flatten_errors(serializer.errors).items()
            for message in messages
        ]
        raise FocusError(
            "erro_validacao", "Dados da empresa inválidos.", status_code=422, erros=erros
        )
    return serializer.validated_data


@contextmanager
def _focus_refusal(request: Request) -> Iterator[None]:
    """Errors in Focus's words: a key writing the other environment's Focus token is 403
    permissao_negada; what Focus itself refused (a certificate, a field) passes through."""
    try:
        with focus_account.announced(request):
            yield
    except focus_account.FocusAccountRefused as exc:
        raise FocusError(exc.code, exc.message, status_code=exc.status_code,
                         erros=exc.erros or None) from None
    except focus_account.FocusAccountUnavailable as exc:
        raise FocusError("servico_indisponivel", "Focus NFe indisponível; nada foi alterado. "
                         "Tente novamente.", status_code=exc.status_code) from None
    except ApiError as exc:
        if exc.code != "permission_denied":
            raise
        raise FocusError("permissao_negada", exc.message, status_code=403) from None


def _company_body(request: Request) -> object:
    """Focus's document describes the body as ``{empresa: {...}}`` and its example as the flat
    object: accept both. A body that is not JSON is Focus's 400 parametros_invalidos (the
    companies' own "Status API" table, FocusNFe/api-doc _empresas.md)."""
    try:
        data = request.data
    except exceptions.ParseError:
        raise FocusError("parametros_invalidos", "Existe um problema no JSON recebido",
                         status_code=400) from None
    if isinstance(data, dict) and set(data) == {"empresa"} and isinstance(data["empresa"], dict):
        return data["empresa"]
    return data


def _dry_run(request: Request) -> bool:
    # Focus's ?dry_run=1: validate (at Focus too, with an account token), create nothing.
    return request.query_params.get("dry_run") in {"1", "true"}


def _get(view: FocusAPIView, pk: str) -> Empresa:
    if not pk.isdigit():
        raise FocusError("nao_encontrado", "Empresa não encontrada.", status_code=404)
    return selectors.empresa_get(tenant=view.tenant, pk=pk)


class EmpresasFacade(FocusAPIView):
    def get(self, request: Request) -> Response:
        qs = selectors.empresa_list(
            tenant=self.tenant,
            cnpj=request.query_params.get("cnpj"),
            cpf=request.query_params.get("cpf"),
        ).order_by("id")
        offset = query_int(request.query_params, "offset", default=0, maximum=MAX_OFFSET)
        total = qs.aggregate(total=Count("id"))["total"]
        page = qs[offset : offset + PAGE_SIZE]
        data = EmpresaOutputSerializer(page, many=True).data
        return Response(data, headers={"X-Total-Count": str(total)})

    def post(self, request: Request) -> Response:
        data = _validated(EmpresaInputSerializer(data=_company_body(request)))
        dry_run = _dry_run(request)
        with _focus_refusal(request):
            empresa = services.empresa_create(tenant=self.tenant, data=data,
                                              acting_environment=self.environment,
                                              dry_run=dry_run)
        # Focus answers a creation 200 OK, as it answers a dry run (FocusNFe/api-doc
        # _empresas.md, "Criação de empresa").
        return Response(EmpresaOutputSerializer(empresa).data, status=status.HTTP_200_OK)


class EmpresaFacade(FocusAPIView):
    def get(self, request: Request, pk: str) -> Response:
        with _focus_refusal(request):
            empresa = services.empresa_sync_from_focus(empresa=_get(self, pk))
        return Response(EmpresaOutputSerializer(empresa).data)

    def put(self, request: Request, pk: str) -> Response:
        empresa = _get(self, pk)
        data = _validated(EmpresaInputSerializer(empresa, data=_company_body(request),
                                                 partial=True))
        with _focus_refusal(request):
            empresa = services.empresa_update(empresa=empresa, data=data,
                                              acting_environment=self.environment,
                                              dry_run=_dry_run(request))
        return Response(EmpresaOutputSerializer(empresa).data)

    def delete(self, request: Request, pk: str) -> Response:
        empresa = services.empresa_set_active(empresa=_get(self, pk), active=False)
        return Response(EmpresaOutputSerializer(empresa).data)
