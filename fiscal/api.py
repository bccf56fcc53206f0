"""Native API of the fiscal app: notes (list and search, one with its timeline, sync now),
fiscal events, inutilizações. Tenant-scoped; another tenant's row is a 404."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import TenantAPIView
from core.pagination import paginated
from core.params import query_params
from fiscal import inutilizacoes, selectors, services
from fiscal.serializers import (
    FiscalEventFilterSerializer,
    FiscalEventSerializer,
    InutilizacaoFilterSerializer,
    InutilizacaoSerializer,
    NoteDetailSerializer,
    NoteFilterSerializer,
    NoteListSerializer,
)


class NoteListApi(TenantAPIView):
    @extend_schema(operation_id="notes_list", parameters=[NoteFilterSerializer],
                   responses=NoteListSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = query_params(request, NoteFilterSerializer)
        qs = selectors.note_list(tenant=self.tenant, environment=self.environment,
                                 **filters)
        return paginated(self, qs, NoteListSerializer)


def _detail(note) -> dict:  # type: ignore[no-untyped-def]
    timeline = selectors.note_timeline(note=note)
    return NoteDetailSerializer(note, context={"timeline": timeline}).data


class NoteDetailApi(TenantAPIView):
    @extend_schema(operation_id="notes_retrieve", responses=NoteDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        note = selectors.note_get(tenant=self.tenant, environment=self.environment, pk=pk)
        return Response(_detail(note))


class NoteSyncApi(TenantAPIView):
    @extend_schema(operation_id="notes_sync", request=None, responses={202: NoteDetailSerializer})
    def post(self, request: Request, pk: int) -> Response:
        note = selectors.note_get(tenant=self.tenant, environment=self.environment, pk=pk)
        note = services.note_request_sync(note=note, reason="tenant asked through the API")
        return Response(_detail(note), status=202)


class FiscalEventListApi(TenantAPIView):
    """Operations on notes (cancel, CCe, ...), per note or company, filterable."""

    @extend_schema(operation_id="fiscal_events_list", parameters=[FiscalEventFilterSerializer],
                   responses=FiscalEventSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = query_params(request, FiscalEventFilterSerializer)
        qs = selectors.fiscal_event_list(tenant=self.tenant, environment=self.environment,
                                         **filters)
        return paginated(self, qs, FiscalEventSerializer)


class InutilizacaoListApi(TenantAPIView):
    @extend_schema(operation_id="inutilizacoes_list", parameters=[InutilizacaoFilterSerializer],
                   responses=InutilizacaoSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = query_params(request, InutilizacaoFilterSerializer)
        qs = inutilizacoes.inutilizacao_list(
            tenant=self.tenant, environment=self.environment, **filters
        )
        return paginated(self, qs, InutilizacaoSerializer)


class InutilizacaoDetailApi(TenantAPIView):
    @extend_schema(operation_id="inutilizacoes_retrieve", responses=InutilizacaoSerializer)
    def get(self, request: Request, pk: int) -> Response:
        row = inutilizacoes.inutilizacao_get(tenant=self.tenant,
                                             environment=self.environment, pk=pk)
        return Response(InutilizacaoSerializer(row).data)
