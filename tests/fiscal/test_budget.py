"""The shared request budget per Focus token."""

from __future__ import annotations

from fiscal.focus.budget import acquire, observe


def test_urgent_calls_may_use_the_whole_window_polls_keep_a_reserve(db: None, settings) -> None:
    settings.FG_FOCUS_RATE_LIMIT = 10
    settings.FG_FOCUS_BUDGET_RESERVE = 0.3
    now = 1_000_020.0
    polls = [acquire(fingerprint="t1", tenant_id=1, urgent=False, now=now) for _ in range(10)]
    assert sum(d.allowed for d in polls) == 7  # 3 of 10 kept for submits and hooks
    urgent = [acquire(fingerprint="t1", tenant_id=1, urgent=True, now=now) for _ in range(5)]
    assert sum(d.allowed for d in urgent) == 3
    refused = urgent[-1]
    assert 0 < refused.retry_after <= 61
    # the next minute is a new window; another token has its own budget
    assert acquire(fingerprint="t1", tenant_id=1, urgent=False, now=now + 60).allowed
    assert acquire(fingerprint="t2", tenant_id=1, urgent=False, now=now).allowed


def test_tenants_sharing_a_token_share_its_polls_fairly(db: None, settings) -> None:
    settings.FG_FOCUS_RATE_LIMIT = 20
    settings.FG_FOCUS_BUDGET_RESERVE = 0.0
    now = 2_000_040.0
    assert acquire(fingerprint="shared", tenant_id=2, urgent=False, now=now).allowed
    greedy = [acquire(fingerprint="shared", tenant_id=1, urgent=False, now=now)
              for _ in range(30)]
    # two tenants poll through the token: the greedy one gets about half, not everything
    assert sum(d.allowed for d in greedy) == 10
    assert sum(acquire(fingerprint="shared", tenant_id=2, urgent=False, now=now).allowed
               for _ in range(5)) == 5


def test_focus_saying_zero_remaining_blocks_the_token_until_its_reset(db: None) -> None:
    now = 3_000_000.0
    observe(fingerprint="t3", remaining=0, reset=30, now=now)
    blocked = acquire(fingerprint="t3", tenant_id=1, urgent=True, now=now + 1)
    assert not blocked.allowed and 28 <= blocked.retry_after <= 30
    assert acquire(fingerprint="t3", tenant_id=1, urgent=True, now=now + 31).allowed
