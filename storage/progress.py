"""A progress bar for management commands, on the command's own output stream."""

from __future__ import annotations

import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO, total: int, label: str, width: int = 30) -> None:
        self.stream, self.total, self.label, self.width = stream, total, label, width
        self.done = 0
        self._last = 0.0

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._last >= 0.2 or self.done >= self.total:
            self._last = now
            self._draw()

    def _draw(self) -> None:
        fraction = self.done / self.total if self.total else 1.0
        filled = int(self.width * fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} {fraction:4.0%}")
        self.stream.flush()

    def finish(self) -> None:
        self._draw()
        self.stream.write("\n")
