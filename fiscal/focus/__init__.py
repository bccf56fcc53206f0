"""The Focus NFe edge: the only code that builds a Focus path, speaks HTTP to Focus, takes from
the per-token budget and records Focus's ``Rate-Limit-*`` (client.py does all four on every
call). Code outside this package reads the budget only through ``budget_status``, for display.
"""

from __future__ import annotations

from fiscal.focus.budget import Left as BudgetStatus
from fiscal.focus.budget import left as _left

__all__ = ["BudgetStatus", "budget_status"]


def budget_status(*, fingerprint: str) -> BudgetStatus:
    """What is left of a token's budget this minute (the staff console), without spending it."""
    return _left(fingerprint=fingerprint)
