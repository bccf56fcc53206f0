"""Native API for inutilizações: list and search, one by id. Tenant-scoped; another tenant's
row is a 404."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import TenantAPIView
from core.pagination import paginated
from fiscal import inutilizacoes
from fiscal.serializers_extras import InutilizacaoFilterSerializer, InutilizacaoSerializer


class InutilizacaoListApi(TenantAPIView):
    @extend_schema(operation_id="inutilizacoes_list", parameters=[InutilizacaoFilterSerializer],
                   responses=InutilizacaoSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = InutilizacaoFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = inutilizacoes.inutilizacao_list(
            tenant=self.tenant, environment=self.environment, **filters.validated_data
        )
        return paginated(self, qs, InutilizacaoSerializer)


class InutilizacaoDetailApi(TenantAPIView):
    @extend_schema(operation_id="inutilizacoes_retrieve", responses=InutilizacaoSerializer)
    def get(self, request: Request, pk: int) -> Response:
        row = inutilizacoes.inutilizacao_get(tenant=self.tenant,
                                             environment=self.environment, pk=pk)
        return Response(InutilizacaoSerializer(row).data)
