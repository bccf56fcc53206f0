"""Capture log lines as FG_LOG_FORMAT=json writes them: the same filters and formatter."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from core.logging import ContextFilter, JsonFormatter, RedactSecretsFilter, log_clear


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.lines()]


def handler_for(formatter: logging.Formatter) -> tuple[logging.Handler, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    handler.addFilter(ContextFilter())
    handler.setFormatter(formatter)
    return handler, stream


@contextmanager
def json_lines() -> Iterator[Captured]:
    """The root logger at INFO writing JSON lines; nothing bound leaks into other tests."""
    handler, stream = handler_for(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    log_clear()
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        log_clear()
