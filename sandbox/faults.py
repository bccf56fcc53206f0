"""Fault injection: what the network and Focus do to a client on a bad day.

A rule matches requests by method and path prefix and fires either for the next `count`
matching requests (deterministic; what tests should use) or for a random `fraction` of them.
Rules are tried in the order they were added; the first that fires wins.

Modes:
- `5xx`: answer `status` (500 by default) with Focus's error shape.
- `429`: answer 429 with `Rate-Limit-*` headers, as if the budget were spent; `Rate-Limit-Reset`
  is `reset_seconds` (default: the rate limit's window).
- `reset`: close the connection with a TCP RST and no answer.
- `hang`: answer nothing for `hang_seconds` (past any sane client timeout), then close.
- `accept_then_hang`: process and commit the request exactly like a normal one, then hang.
  The client sees a timeout while the note exists: the case the gateway must never duplicate.
- `malformed_json`: process normally, then send the real status with a truncated JSON body.

`commit` (default false, true for `accept_then_hang` and `malformed_json`) chooses whether the
request is processed before the fault is applied; `5xx` with `commit: true` is "Focus did it but
answered 502".
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

MODES = ("5xx", "429", "reset", "hang", "accept_then_hang", "malformed_json")
_COMMIT_BY_DEFAULT = {"accept_then_hang", "malformed_json"}


@dataclass
class FaultRule:
    mode: str
    fraction: float = 1.0
    count: int | None = None
    methods: list[str] = field(default_factory=list)
    path_prefix: str = "/v2/"
    hang_seconds: float | None = None
    status: int = 500
    commit: bool = False
    reset_seconds: float | None = None
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.methods and method.upper() not in self.methods:
            return False
        return path.startswith(self.path_prefix)

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.count <= 0


def parse_rule(data: dict[str, Any]) -> FaultRule:
    mode = str(data.get("mode", ""))
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    fraction = float(data.get("fraction", 1.0))
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be between 0 and 1")
    count = data.get("count")
    hang = data.get("hang_seconds")
    reset = data.get("reset_seconds")
    return FaultRule(
        mode=mode,
        fraction=fraction,
        count=int(count) if count is not None else None,
        methods=[str(m).upper() for m in data.get("methods") or []],
        path_prefix=str(data.get("path_prefix") or "/v2/"),
        hang_seconds=float(hang) if hang is not None else None,
        status=int(data.get("status", 503 if mode == "5xx" and data.get("commit") else 500)),
        commit=bool(data.get("commit", mode in _COMMIT_BY_DEFAULT)),
        reset_seconds=float(reset) if reset is not None else None,
    )


class Faults:
    def __init__(self, *, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def pick(self, method: str, path: str) -> FaultRule | None:
        """The rule that fires for this request, consuming one of its `count` if it has one."""
        with self._lock:
            for rule in self._rules:
                if rule.exhausted or not rule.matches(method, path):
                    continue
                if rule.count is not None:
                    rule.count -= 1
                elif self._random.random() >= rule.fraction:
                    continue
                rule.fired += 1
                return rule
            return None

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self._rules]
