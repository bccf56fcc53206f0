from __future__ import annotations

from django.db.models import QuerySet
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from core.params import query_int, without_credentials


class IdCursorPagination(CursorPagination):
    """Newest first by id: stable under inserts, and one query per page however deep."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        # DRF silently falls back to the default for a limit it cannot read; a tenant asking
        # for limit=abc or limit=0 is told instead, like any other bad parameter.
        return query_int(request.query_params, self.page_size_query_param,
                         default=self.page_size, minimum=1, maximum=self.max_page_size)

    def encode_cursor(self, cursor):  # type: ignore[no-untyped-def]
        return without_credentials(super().encode_cursor(cursor))


def paginated(view: APIView, queryset: QuerySet, serializer_class: type[Serializer]) -> Response:
    """One cursor page of ``queryset`` rendered with ``serializer_class``: every list endpoint."""
    paginator = IdCursorPagination()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
