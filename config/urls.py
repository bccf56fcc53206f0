from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from core.docs import RedocDocsView, SwaggerDocsView
from core.health import healthz, readyz
from metrics import api as metrics_api
from tenants import api as tenants_api
from tenants import facade as tenants_facade

# Unknown routes and uncaught errors under /v2 and /api are JSON in their API's shape.
handler404 = "core.middleware.handler404"
handler500 = "core.middleware.handler500"

api_v1 = [
    path("api/v1/empresas", tenants_api.EmpresaListCreateApi.as_view()),
    path("api/v1/empresas/<int:pk>", tenants_api.EmpresaDetailApi.as_view()),
    path("api/v1/empresas/<int:pk>/disable", tenants_api.EmpresaDisableApi.as_view()),
    path("api/v1/empresas/<int:pk>/enable", tenants_api.EmpresaEnableApi.as_view()),
    path("api/v1/api-keys", tenants_api.ApiKeyListCreateApi.as_view()),
    path("api/v1/focus-account", tenants_api.FocusAccountApi.as_view()),
    path("api/v1/api-keys/<int:pk>/revoke", tenants_api.ApiKeyRevokeApi.as_view()),
]

# The Focus-compatible facade: same paths as Focus NFe v2 (the documents: fiscal/urls.py).
facade_v2 = [
    path("v2/empresas", tenants_facade.EmpresasFacade.as_view()),
    path("v2/empresas/<str:pk>", tenants_facade.EmpresaFacade.as_view()),
]

urlpatterns = [
    path("healthz", healthz),
    path("readyz", readyz),
    path("metrics", metrics_api.metrics),
    path("admin/console/", include("config.console")),
    path("admin/", admin.site.urls),
    path("api/schema", SpectacularAPIView.as_view(authentication_classes=[],
                                                  permission_classes=[]), name="schema"),
    path("api/docs", SwaggerDocsView.as_view()),
    path("api/redoc", RedocDocsView.as_view()),
    *api_v1,
    *facade_v2,
    # notes, fiscal events, inutilizações, importação, DANFe, lotes RPS, the Focus hook receiver
    path("", include("fiscal.urls")),
    path("", include("webhooks.urls")),
    path("", include("storage.urls")),
]

if settings.FG_BENCH_ENDPOINTS:
    from core.bench import BaselineInsertApi

    urlpatterns.append(path("bench/baseline", BaselineInsertApi.as_view()))
