from __future__ import annotations

from django.db.models import QuerySet
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView


class IdCursorPagination(CursorPagination):
    """Newest first by id: stable under inserts, and one query per page however deep."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


def paginated(view: APIView, queryset: QuerySet, serializer_class: type[Serializer]) -> Response:
    """One cursor page of ``queryset`` rendered with ``serializer_class``: every list endpoint."""
    paginator = IdCursorPagination()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
