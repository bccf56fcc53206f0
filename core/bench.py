"""Endpoints that exist only for benchmarks (routed when FG_BENCH_ENDPOINTS is true)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import TenantAPIView
from core.models import BenchmarkProbe


class BaselineInsertApi(TenantAPIView):
    """Authenticate, insert one row, answer: the floor under any write endpoint."""

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        probe = BenchmarkProbe.objects.create(tenant=self.tenant)
        return Response({"id": probe.pk}, status=201)
