"""Log lines: secrets masked, one time zone (UTC), plain or JSON, with what they are about.

Secrets never reach a log line: API keys, Focus tokens and credentials are masked.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # our API keys anywhere in a message
    (re.compile(r"\b(fg_(?:test|live)_)[A-Za-z0-9]+"), r"\1[REDACTED]"),
    # ?token=... in logged URLs (Focus clients may authenticate that way)
    (re.compile(r"([?&]token=)[^&\s\"']+", re.IGNORECASE), r"\1[REDACTED]"),
    # Authorization headers and key=value pairs named like secrets (already-redacted values and
    # the rest of a query string are left alone)
    # (and Focus's company secrets: certificate, its password, other passwords, the NFCe CSC)
    (re.compile(r"((?:authorization|api[-_]?key|token|secret|senha\w*|arquivo_\w*_base64|csc\w*)"
                r"[\"']?\s*[:=]\s*[\"']?)"
                r"(?:Basic |Bearer )?(?!\[REDACTED\])[^\s\"',}&]+", re.IGNORECASE),
     r"\1[REDACTED]"),
    (re.compile(r"\b(Basic|Bearer) [A-Za-z0-9+/=._-]+"), r"\1 [REDACTED]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


# --- context: what a line is about, bound once per request or task ------------------------------

# The fields a line may carry: bound by the request middleware (request_id), the API-key
# authentication (tenant_id), the Celery task signals (task_id, task) and the note services
# (note_id, upstream_ref); or passed per call as ``extra=``. Passed fields win over bound ones.
CONTEXT_FIELDS = ("request_id", "tenant_id", "note_id", "upstream_ref", "task", "task_id")

# A new dict on every change (never mutated in place), so a copied context is never shared.
_context: ContextVar[dict[str, object]] = ContextVar("fg_log_context", default={})  # noqa: B039


def log_bind(**fields: object) -> None:
    """Add fields to every line logged from here to the end of the request or task."""
    _context.set({**_context.get(), **{k: v for k, v in fields.items() if v not in (None, "")}})


@contextmanager
def log_scope(**fields: object) -> Iterator[None]:
    """A fresh context for one request or task: nothing bound before leaks in or out."""
    token = _context.set({k: v for k, v in fields.items() if v not in (None, "")})
    try:
        yield
    finally:
        _context.reset(token)


def log_clear() -> None:
    _context.set({})


class ContextFilter(logging.Filter):
    """Copy the bound context onto each record (without overriding ``extra=`` fields)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            # Gunicorn logs a request after the app returned (its context is gone); the id
            # travels in the response header the middleware set.
            request_id = record.args.get("{x-request-id}o")
            if request_id and request_id != "-":
                record.request_id = request_id
        fields = [f"{key}={getattr(record, key)}" for key in CONTEXT_FIELDS
                  if getattr(record, key, None) not in (None, "")]
        record.context = f" [{' '.join(fields)}]" if fields else ""
        return True


# --- formatters: UTC, ISO 8601 with Z, in every process (web, worker, beat) ---------------------

class UTCFormatter(logging.Formatter):
    """Timestamps in UTC whatever TZ the process runs in (Django sets TZ to TIME_ZONE)."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_timestamp(record.created)

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))


def utc_timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, tz=UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class JsonFormatter(UTCFormatter):
    """One JSON object per line (FG_LOG_FORMAT=json): newlines inside messages and tracebacks
    are escaped by the encoder, so a line is always a whole record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.processName,
        }
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, None)
            if value not in (None, ""):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(*, level: str = "INFO", fmt: str = "plain") -> dict[str, Any]:
    """The one logging configuration of Django, the Celery worker and beat, and gunicorn.

    Quiet by default: INFO lines say what changed (a note submitted or settled, a delivery
    failed, a file archived). Celery's per-task "received"/"succeeded" lines and beat's
    "Sending due task" would write several lines a second for the dispatcher ticks that find
    nothing to do, so those loggers start at WARNING (errors still show); FG_LOG_LEVEL=DEBUG
    brings them back.
    """
    if fmt not in ("plain", "json"):
        raise ValueError("FG_LOG_FORMAT must be 'plain' or 'json'")
    level = level.upper()
    chatty = "DEBUG" if level == "DEBUG" else "WARNING"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "redact": {"()": "core.logging.RedactSecretsFilter"},
            "context": {"()": "core.logging.ContextFilter"},
        },
        "formatters": {
            "plain": {"()": "core.logging.UTCFormatter",
                      "format": "%(asctime)s %(levelname)s %(name)s %(message)s%(context)s"},
            "json": {"()": "core.logging.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                # redact first: the context filter only adds fields.
                "filters": ["redact", "context"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # httpx logs every request URL at INFO; fiscal.focus logs what matters, redacted.
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
            "celery.app.trace": {"level": chatty},
            "celery.worker.strategy": {"level": chatty},
            # "Discarding revoked task": a tick that expired unrun (the next one does its work)
            "celery.worker.request": {"level": chatty},
            "celery.beat": {"level": chatty},
            # gunicorn's own loggers write through the root handler (its defaults are replaced).
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
    }
