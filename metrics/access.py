"""Who may read the metrics: decided here, once, for the web's /metrics and the worker's.

- services mode: ``Authorization: Bearer <FG_METRICS_TOKEN>`` only (compared in constant
  time); with no token configured there is nothing to read (404), so a forgotten variable
  never leaves the metrics open;
- embedded mode: open to loopback callers (the developer's machine); anyone else needs the
  token, when one is configured.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings


def _loopback(remote_addr: str) -> bool:
    try:
        return ipaddress.ip_address(remote_addr).is_loopback
    except ValueError:
        return False


def _bearer_ok(authorization: str, token: str) -> bool:
    scheme, _, given = authorization.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def decide(*, authorization: str, remote_addr: str) -> int:
    """The HTTP status of the answer: 200 (serve), 401 (bearer token needed) or 404."""
    token = settings.FG_METRICS_TOKEN
    if _bearer_ok(authorization, token):
        return 200
    if not settings.SERVICES_MODE and _loopback(remote_addr):
        return 200
    return 401 if token else 404
