"""GET /metrics: Prometheus's text format, for the whole process group.

Access (decided here, once):
- services mode: ``Authorization: Bearer <FG_METRICS_TOKEN>`` only; with no token configured the
  route does not exist (404), so a forgotten variable never leaves it open;
- embedded mode: open to loopback callers (the developer's machine); anyone else needs the
  token, when one is configured.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import Metric
from prometheus_client.registry import REGISTRY, Collector

from metrics import instruments, multiprocess
from metrics.collectors import DatabaseCollector

assert instruments  # the counters exist in this process before the first scrape


def _registry() -> CollectorRegistry:
    if multiprocess.directory() is None:
        # One process only (no PROMETHEUS_MULTIPROC_DIR): its own counters.
        registry = CollectorRegistry()
        registry.register(_Default())
    else:
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)
    registry.register(DatabaseCollector())
    return registry


class _Default(Collector):
    """The process's default registry, as a collector of another registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def _bearer_ok(request: HttpRequest) -> bool:
    token = settings.FG_METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def _loopback(request: HttpRequest) -> bool:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _unauthorized() -> HttpResponse:
    response = HttpResponse("bearer token required\n", status=401, content_type="text/plain")
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if settings.SERVICES_MODE:
        if not settings.FG_METRICS_TOKEN:
            raise Http404
        if not _bearer_ok(request):
            return _unauthorized()
    elif not _loopback(request) and not _bearer_ok(request):
        if not settings.FG_METRICS_TOKEN:
            raise Http404
        return _unauthorized()
    # generate_latest writes the 0.0.4 text format, which every Prometheus version reads.
    body = generate_latest(_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)
