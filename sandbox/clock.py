"""The sandbox's notion of "now": wall time plus an offset tests can push forward.

Focus's windows are long (24 h to cancel an NFe, 6 months for ator interessado); shifting the
clock through the control API makes them testable in milliseconds.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone

# Focus answers in Brasília time (-03:00); SEFAZ XML carries the offset explicitly.
BRT = timezone(timedelta(hours=-3))


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self._listeners: list[threading.Condition] = []

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._offset += seconds
        self._wake()
        return self.now()

    def set(self, timestamp: float) -> float:
        with self._lock:
            self._offset = timestamp - time.time()
        self._wake()
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
        self._wake()

    @property
    def offset(self) -> float:
        return self._offset

    def subscribe(self, condition: threading.Condition) -> None:
        """Background workers sleeping until a due time are woken when time jumps."""
        self._listeners.append(condition)

    def _wake(self) -> None:
        for cond in list(self._listeners):
            with cond:
                cond.notify_all()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, BRT).isoformat(timespec="seconds")


def aamm(ts: float) -> str:
    return datetime.fromtimestamp(ts, BRT).strftime("%y%m")


def aaaamm(ts: float) -> str:
    return datetime.fromtimestamp(ts, BRT).strftime("%Y%m")


def year(ts: float) -> int:
    return datetime.fromtimestamp(ts, BRT).year


def add_months(ts: float, months: int) -> float:
    """Calendar months, clamped to the month's last day (31 Aug + 6 months = 28/29 Feb)."""
    dt = datetime.fromtimestamp(ts, UTC)
    month_index = dt.month - 1 + months
    y, m = dt.year + month_index // 12, month_index % 12 + 1
    for day in (dt.day, 30, 29, 28):
        try:
            return dt.replace(year=y, month=m, day=day).timestamp()
        except ValueError:
            continue
    raise ValueError("unreachable")
