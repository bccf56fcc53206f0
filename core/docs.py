"""The API docs pages (Swagger UI, ReDoc), served with nothing from outside.

The UIs come from drf-spectacular-sidecar's static files. The ReDoc bundle still names one
outside image (its "by Redocly" logo on a CDN), so both pages also carry a Content-Security-
Policy that keeps the browser on this host whatever a bundle asks for.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework.request import Request
from rest_framework.response import Response

# Inline script/style: drf-spectacular's Swagger page inlines its set-up script, and both UIs
# style through inline <style>; ReDoc's search runs in a blob: worker.
SAME_ORIGIN_ONLY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'"
)


class _SameOrigin:
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @extend_schema(exclude=True)  # pages, not API operations
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)  # type: ignore[misc]
        response["Content-Security-Policy"] = SAME_ORIGIN_ONLY
        return response


class SwaggerDocsView(_SameOrigin, SpectacularSwaggerView):
    url_name = "schema"


class RedocDocsView(_SameOrigin, SpectacularRedocView):
    url_name = "schema"
    # drf-spectacular's page without its Google Fonts links.
    template_name = "drf_spectacular/redoc_offline.html"
