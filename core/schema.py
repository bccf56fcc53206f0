"""The project's OpenAPI AutoSchema: the schema describes what the views really answer."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from core.pagination import IdCursorPagination


class AutoSchema(SpectacularAutoSchema):
    """List views are plain APIViews that page through ``core.pagination.paginated()``, so
    they have no ``pagination_class`` for drf-spectacular to find; every list operation is
    cursor-paginated, so a GET documented with a list response gets the real envelope
    ``{next, previous, results}`` and the ``cursor``/``limit`` parameters."""

    def _get_paginator(self):  # type: ignore[no-untyped-def]
        if self.method == "GET":
            return IdCursorPagination()
        return super()._get_paginator()
