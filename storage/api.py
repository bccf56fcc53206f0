"""Native API: a note's archived files, one file's bytes, a company's month as a ZIP."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import TenantAPIView
from core.errors import ApiError
from core.pagination import paginated
from core.params import query_params
from fiscal.selectors import note_get
from storage import selectors
from storage.exports import empresa_month_zip
from storage.http import file_response
from storage.serializers import ArchiveMonthInputSerializer, ArtifactOutputSerializer
from storage.serving import FileNotFound, FileUnavailable, artifact_serve
from tenants.selectors import empresa_get


def _unavailable() -> ApiError:
    return ApiError(
        "The file is not archived yet and Focus could not give it now; try again shortly.",
        code="file_unavailable", status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )


class NoteArtifactListApi(TenantAPIView):
    @extend_schema(operation_id="note_artifacts_list",
                   responses=ArtifactOutputSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        note = note_get(tenant=self.tenant, environment=self.environment, pk=pk)
        artifacts = selectors.artifact_list_for_note(tenant=self.tenant, note=note)
        return paginated(self, artifacts, ArtifactOutputSerializer)


class ArtifactDownloadApi(TenantAPIView):
    error_statuses = {"get": (503,)}  # not archived yet and Focus unavailable

    @extend_schema(operation_id="artifacts_download", responses={
        (200, "application/octet-stream"): OpenApiTypes.BINARY, 302: None,
    })
    def get(self, request: Request, pk: int) -> HttpResponse:
        artifact = selectors.artifact_get(tenant=self.tenant, environment=self.environment,
                                          pk=pk)
        try:
            served = artifact_serve(artifact=artifact)
        except FileNotFound:
            raise ApiError("Focus has no such file.", code="not_found",
                           status_code=status.HTTP_404_NOT_FOUND) from None
        except FileUnavailable:
            raise _unavailable() from None
        return file_response(served)


class EmpresaArchiveZipApi(TenantAPIView):
    @extend_schema(
        operation_id="empresas_archive_zip",
        parameters=[OpenApiParameter("month", str, required=True, description="YYYY-MM")],
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        empresa = empresa_get(tenant=self.tenant, pk=pk)
        period = query_params(request, ArchiveMonthInputSerializer)["month"]
        artifacts = list(selectors.artifacts_for_month(
            tenant=self.tenant, environment=self.environment, empresa=empresa, period=period
        ))
        response = StreamingHttpResponse(
            empresa_month_zip(artifacts=artifacts), content_type="application/zip"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{empresa.documento}-{period:%Y-%m}.zip"'
        )
        response["Cache-Control"] = "private, no-store"
        return response
