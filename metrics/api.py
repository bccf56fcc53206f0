"""GET /metrics: Prometheus's text format, for the whole process group (metrics/access.py
decides who may read it)."""

from __future__ import annotations

from collections.abc import Iterable

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import Metric
from prometheus_client.registry import REGISTRY, Collector

from metrics import access, multiprocess
from metrics.collectors import DatabaseCollector


class _Default(Collector):
    """The process's default registry, as a collector of another registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def counters_registry() -> CollectorRegistry:
    """The counters and histograms of every process of the group (or of this one alone when
    no PROMETHEUS_MULTIPROC_DIR is set)."""
    registry = CollectorRegistry()
    if multiprocess.directory() is None:
        registry.register(_Default())
    else:
        prometheus_multiprocess.MultiProcessCollector(registry)
    return registry


def unauthorized() -> HttpResponse:
    response = HttpResponse("bearer token required\n", status=401, content_type="text/plain")
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    status = access.decide(authorization=request.headers.get("Authorization", ""),
                           remote_addr=request.META.get("REMOTE_ADDR", ""))
    if status == 404:
        raise Http404
    if status == 401:
        return unauthorized()
    registry = counters_registry()
    # The web's scrape also reads the database and the broker (the gauges); the worker's
    # exporter (metrics/exporter.py) serves its counters only.
    registry.register(DatabaseCollector())
    # generate_latest writes the 0.0.4 text format, which every Prometheus version reads.
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)
