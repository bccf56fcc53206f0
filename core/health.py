"""/healthz (the process answers) and /readyz (its dependencies answer), both cheap.

The readiness checks are named in ``settings.FG_READINESS_CHECKS`` (name -> "module.function"):
the apps above core (the archive, say) bring their own check without core importing them.
A check returns what it reached and raises when it cannot.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils.module_loading import import_string
from kombu import Connection

logger = logging.getLogger("core.health")


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def check_broker() -> str:
    url = settings.CELERY_BROKER_URL
    timeout = settings.FG_READYZ_TIMEOUT
    with Connection(
        url,
        connect_timeout=timeout,
        transport_options={**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "socket_timeout": timeout},
    ) as conn:
        # One attempt, no retries: readiness must answer quickly, not wait for the broker.
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
    return url.split("://", 1)[0]


@functools.cache
def _checks(named: tuple[tuple[str, str], ...]) -> dict[str, Callable[[], str]]:
    return {name: import_string(path) for name, path in named}


def readyz(request: HttpRequest) -> JsonResponse:
    """The verdict per check for anyone (load balancers, uptime probes); what failed and why
    (exception text, hosts, ports, bucket names) only to an authenticated staff session, and
    always to the logs: an error message is a map of the internals."""
    staff = bool(getattr(request, "user", None) and request.user.is_active
                 and request.user.is_staff)
    report: dict[str, dict[str, object]] = {}
    for name, check in _checks(tuple(settings.FG_READINESS_CHECKS.items())).items():
        started = time.monotonic()
        detail: dict[str, object]
        try:
            detail = {"backend": check()}
            ok = True
        except Exception as exc:  # noqa: BLE001 - any failure means not ready; say why
            ok = False
            detail = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            logger.warning("readyz: %s failing: %s", name, detail["error"])
        entry: dict[str, object] = {"ok": ok, "status": "ok" if ok else "failing"}
        if staff:
            entry.update(detail, ms=round((time.monotonic() - started) * 1000, 1))
        report[name] = entry
    ready = all(entry["ok"] for entry in report.values())
    return JsonResponse({"ready": ready, "checks": report}, status=200 if ready else 503)
