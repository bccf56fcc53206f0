"""Focus's budget: N requests per minute per token, told in `Rate-Limit-*` headers.

Reference: SUPPLEMENT.md "Rate limit". A fixed window per token that opens with its first
request; `Rate-Limit-Reset` is the whole seconds left in it. Windows follow the sandbox clock, so
a test can advance time instead of sleeping a minute.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable


class RateLimiter:
    def __init__(self, *, now: Callable[[], float]) -> None:
        self._now = now
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, *, limit: int, window: float) -> tuple[bool, dict[str, str]]:
        """Count one request; return (allowed, headers). A limit of 0 disables counting."""
        if limit <= 0:
            return True, {}
        now = self._now()
        with self._lock:
            started, used = self._windows.get(key, (now, 0))
            if now - started >= window or now < started:
                started, used = now, 0
            allowed = used < limit
            if allowed:
                used += 1
            self._windows[key] = (started, used)
        reset = max(0, math.ceil(started + window - now))
        headers = {
            "Rate-Limit-Limit": str(limit),
            "Rate-Limit-Remaining": str(max(0, limit - used)),
            "Rate-Limit-Reset": str(reset),
        }
        return allowed, headers

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()
