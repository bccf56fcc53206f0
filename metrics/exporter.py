"""The Celery worker's counters over HTTP, for the services mode.

There, web and worker are separate containers, each with its own PROMETHEUS_MULTIPROC_DIR
(metrics/multiprocess.py), so the web's /metrics cannot read the worker's files. With
``FG_METRICS_WORKER_PORT`` set, the worker's main process serves its pool's counters on that
port (any path), under the same access rule as the web's /metrics (metrics/access.py).
Prometheus scrapes both; dashboards sum over instances. The gauges come from the web only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from metrics import access
from metrics.api import counters_registry

logger = logging.getLogger("metrics")

_started: list[WSGIServer] = []


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per scrape would be exactly the noise issue 13 §2 removes


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    status = access.decide(authorization=environ.get("HTTP_AUTHORIZATION", ""),
                           remote_addr=environ.get("REMOTE_ADDR", ""))
    if status != 200:
        headers = [("Content-Type", "text/plain")]
        if status == 401:
            headers.append(("WWW-Authenticate", 'Bearer realm="metrics"'))
        start_response("401 Unauthorized" if status == 401 else "404 Not Found", headers)
        return [b"bearer token required\n" if status == 401 else b"not found\n"]
    return make_wsgi_app(counters_registry())(environ, start_response)


def start(*, host: str, port: int) -> WSGIServer:
    """Serve in a daemon thread of this process; returns the server (its port when 0)."""
    server = make_server(host, port, app, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-exporter", daemon=True).start()
    _started.append(server)
    logger.info("worker metrics on %s:%s", host, server.server_port)
    return server
