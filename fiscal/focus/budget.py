"""A shared request budget per Focus token, across every worker and web process.

Focus allows 100 requests a minute per token, shared by every company that issues through it
(SUPPLEMENT.md, "Rate limit"). The budget lives in the Django cache (Redis in services mode, so
all processes share it): one counter per token and minute, corrected by what Focus tells us in
``Rate-Limit-*`` headers.

- Urgent calls (submits, hook-triggered and operator syncs, inline operations) may use the
  whole window.
- Scheduled polls are background work: they keep ``FG_FOCUS_BUDGET_RESERVE`` of the window free
  for urgent calls, and one tenant's polls may not take more than a fair share of the window
  while other tenants poll through the same token.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings

from core import cache as shared
from fiscal.focus import signals

WINDOW = 60  # seconds, Focus's window


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0


def _window_start(now: float) -> int:
    return int(now // WINDOW) * WINDOW


def _incr(key: str) -> int:
    # An unreachable cache counts as an unspent budget: Focus's own 429 still protects it.
    return shared.incr(key, timeout=WINDOW * 2) or 0


def _wait(seconds: float, *, urgent: bool) -> Decision:
    signals.budget_wait.send_robust(sender=None, urgent=urgent)
    return Decision(False, seconds)


def acquire(*, fingerprint: str, tenant_id: int, urgent: bool,
            now: float | None = None) -> Decision:
    """Take one request from the token's budget, or say how long to wait."""
    now = time.time() if now is None else now
    start = _window_start(now)
    limit = settings.FG_FOCUS_RATE_LIMIT
    retry = float(start + WINDOW - now) + 0.05
    blocked_until = shared.get(f"fg:focus:{fingerprint}:blocked_until")
    if blocked_until and blocked_until > now:
        return _wait(blocked_until - now, urgent=urgent)
    if not urgent:
        reserve = math.ceil(limit * settings.FG_FOCUS_BUDGET_RESERVE)
        used = shared.get(f"fg:focus:{fingerprint}:{start}", 0)
        if used >= limit - reserve:
            return _wait(retry, urgent=urgent)
        tenants_key = f"fg:focus:{fingerprint}:{start}:tenants"
        tenants = shared.get(tenants_key, set()) | {tenant_id}
        shared.set(tenants_key, tenants, timeout=WINDOW * 2)
        share = math.ceil((limit - reserve) / len(tenants))
        mine = shared.get(f"fg:focus:{fingerprint}:{start}:t{tenant_id}", 0)
        if len(tenants) > 1 and mine >= share:
            return _wait(retry, urgent=urgent)
        _incr(f"fg:focus:{fingerprint}:{start}:t{tenant_id}")
    used = _incr(f"fg:focus:{fingerprint}:{start}")
    if used > limit:
        return _wait(retry, urgent=urgent)
    return Decision(True)


def observe(*, fingerprint: str, remaining: int | None, reset: float | None,
            now: float | None = None) -> None:
    """Learn from Focus's Rate-Limit headers (or a 429): stop before Focus has to refuse."""
    now = time.time() if now is None else now
    if remaining is not None and reset is not None and remaining <= 0:
        shared.set(f"fg:focus:{fingerprint}:blocked_until", now + reset, timeout=int(reset) + 1)


@dataclass(frozen=True)
class Left:
    """What remains of a token's budget in the current window (for the staff console)."""

    limit: int
    used: int
    blocked_for: float  # seconds Focus told us to wait (0: not blocked)

    @property
    def remaining(self) -> int:
        return 0 if self.blocked_for else max(self.limit - self.used, 0)


def left(*, fingerprint: str, now: float | None = None) -> Left:
    """Read the budget without spending it; an unreachable cache reads as unspent."""
    now = time.time() if now is None else now
    used = shared.get(f"fg:focus:{fingerprint}:{_window_start(now)}", 0) or 0
    blocked_until = shared.get(f"fg:focus:{fingerprint}:blocked_until") or 0
    return Left(limit=settings.FG_FOCUS_RATE_LIMIT, used=int(used),
                blocked_for=max(float(blocked_until) - now, 0.0))
