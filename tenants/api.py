"""Native API: companies and API keys. Thin views: validate, call a service, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import TenantAPIView
from core.errors import ApiError
from core.pagination import paginated
from tenants import focus_account, selectors, services
from tenants.models import Environment
from tenants.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyInputSerializer,
    ApiKeyOutputSerializer,
    EmpresaInputSerializer,
    EmpresaOutputSerializer,
    FocusAccountInputSerializer,
    FocusAccountOutputSerializer,
)


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.lower() in {"1", "true", "yes"}


class EmpresaListCreateApi(TenantAPIView):
    error_statuses = {"post": (409,)}  # a documento already registered

    @extend_schema(
        operation_id="empresas_list",
        parameters=[
            OpenApiParameter("cnpj", str),
            OpenApiParameter("cpf", str),
            OpenApiParameter("is_active", bool),
        ],
        responses=EmpresaOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        qs = selectors.empresa_list(
            tenant=self.tenant,
            cnpj=request.query_params.get("cnpj"),
            cpf=request.query_params.get("cpf"),
            active=_flag(request.query_params.get("is_active")),
        )
        return paginated(self, qs, EmpresaOutputSerializer)

    @extend_schema(
        operation_id="empresas_create",
        request=EmpresaInputSerializer,
        responses={201: EmpresaOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = EmpresaInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with focus_account.announced(request):
            empresa = services.empresa_create(tenant=self.tenant, data=serializer.validated_data,
                                              acting_environment=self.environment)
        return Response(EmpresaOutputSerializer(empresa).data, status=status.HTTP_201_CREATED)


class EmpresaDetailApi(TenantAPIView):
    error_statuses = {"patch": (409,)}  # a documento already registered

    @extend_schema(operation_id="empresas_retrieve", responses=EmpresaOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        empresa = selectors.empresa_get(tenant=self.tenant, pk=pk)
        with focus_account.announced(request):
            empresa = services.empresa_sync_from_focus(empresa=empresa)
        return Response(EmpresaOutputSerializer(empresa).data)

    @extend_schema(
        operation_id="empresas_update",
        request=EmpresaInputSerializer,
        responses=EmpresaOutputSerializer,
    )
    def patch(self, request: Request, pk: int) -> Response:
        empresa = selectors.empresa_get(tenant=self.tenant, pk=pk)
        serializer = EmpresaInputSerializer(empresa, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with focus_account.announced(request):
            empresa = services.empresa_update(empresa=empresa, data=serializer.validated_data,
                                              acting_environment=self.environment)
        return Response(EmpresaOutputSerializer(empresa).data)


class _EmpresaSetActiveApi(TenantAPIView):
    # POST turns the empresa on or off; the subclass says which and names the operation. (A
    # comment, not a docstring: the schema describes the operation from the view's docstring.)
    active: bool

    def post(self, request: Request, pk: int) -> Response:
        empresa = selectors.empresa_get(tenant=self.tenant, pk=pk)
        empresa = services.empresa_set_active(empresa=empresa, active=self.active)
        return Response(EmpresaOutputSerializer(empresa).data)


@extend_schema_view(post=extend_schema(operation_id="empresas_disable", request=None,
                                       responses=EmpresaOutputSerializer))
class EmpresaDisableApi(_EmpresaSetActiveApi):
    active = False


@extend_schema_view(post=extend_schema(operation_id="empresas_enable", request=None,
                                       responses=EmpresaOutputSerializer))
class EmpresaEnableApi(_EmpresaSetActiveApi):
    active = True


class ApiKeyListCreateApi(TenantAPIView):
    @extend_schema(operation_id="api_keys_list", responses=ApiKeyOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        keys = selectors.api_key_list(tenant=self.tenant, environment=self.environment)
        return paginated(self, keys, ApiKeyOutputSerializer)

    @extend_schema(
        operation_id="api_keys_create",
        request=ApiKeyInputSerializer,
        responses={201: ApiKeyCreatedSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = ApiKeyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = services.api_key_create(
            tenant=self.tenant,
            environment=serializer.validated_data["environment"],
            name=serializer.validated_data.get("name", ""),
            acting_environment=self.environment,
        )
        data = ApiKeyCreatedSerializer(issued.api_key, context={"raw_key": issued.raw}).data
        return Response(data, status=status.HTTP_201_CREATED)


class ApiKeyRevokeApi(TenantAPIView):
    @extend_schema(operation_id="api_keys_revoke", request=None,
                   responses=ApiKeyOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        api_key = selectors.api_key_get(tenant=self.tenant, environment=self.environment, pk=pk)
        api_key = services.api_key_revoke(api_key=api_key)
        return Response(ApiKeyOutputSerializer(api_key).data)


class FocusAccountApi(TenantAPIView):
    """The tenant's Focus account (reseller) token: shown masked, set or removed by a live key.

    It is a production credential (Focus's empresas API exists only in produção), so a test key
    may read that one is set but not change it.
    """

    @extend_schema(operation_id="focus_account_retrieve",
                   responses=FocusAccountOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(FocusAccountOutputSerializer(self.tenant).data)

    @extend_schema(operation_id="focus_account_set", request=FocusAccountInputSerializer,
                   responses=FocusAccountOutputSerializer)
    def put(self, request: Request) -> Response:
        if self.environment != Environment.PRODUCAO:
            raise ApiError("Only a live key can set the Focus account token.",
                           code="permission_denied", status_code=status.HTTP_403_FORBIDDEN)
        serializer = FocusAccountInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tenant = services.tenant_set_focus_account_token(
            tenant=self.tenant, token=serializer.validated_data["token"])
        return Response(FocusAccountOutputSerializer(tenant).data)
