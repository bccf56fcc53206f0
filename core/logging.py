"""Secrets never reach a log line: API keys, Focus tokens and credentials are masked."""

from __future__ import annotations

import logging
import re

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
