"""Our own request budget per tenant (DESIGN.md §6), announced like Focus announces its own.

Every authenticated answer carries ``Rate-Limit-Limit``, ``Rate-Limit-Remaining`` and
``Rate-Limit-Reset`` (seconds), the names Focus uses, so a client written for Focus reads ours
too. Over the budget: 429 with ``Retry-After``, in the error shape of the API called.
The counters live in the cache (Redis in services mode), one per tenant and minute.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from core import cache as shared

WINDOW = 60


def tenant_limit(tenant: Any) -> int:
    return tenant.rate_limit_per_minute or settings.FG_TENANT_RATE_LIMIT


class TenantRateThrottle(BaseThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if api_key is None:
            return True
        now = time.time()
        start = int(now // WINDOW) * WINDOW
        used = shared.incr(f"fg:tenant-budget:{api_key.tenant_id}:{start}", timeout=WINDOW * 2)
        if used is None:
            return True  # the budget cannot be read: never refuse a tenant for our outage
        limit = tenant_limit(api_key.tenant)
        self.reset = max(int(start + WINDOW - now), 1)
        request.rate_limit_headers = {
            "Rate-Limit-Limit": str(limit),
            "Rate-Limit-Remaining": str(max(limit - used, 0)),
            "Rate-Limit-Reset": str(self.reset),
        }
        return used <= limit

    def wait(self) -> float:
        return float(self.reset)
