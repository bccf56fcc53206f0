"""Counters in the shared cache that must never take the service down with them.

The per-tenant and per-Focus-token budgets live in Redis in services mode. If Redis is
unreachable, notes must still be accepted (Postgres is the truth): a budget that cannot be read
is treated as not spent, and Focus's own 429 remains the last word upstream.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger("core.cache")

UNAVAILABLE = (RedisError, OSError)


def incr(key: str, *, timeout: int) -> int | None:
    """Add one to a counter that expires ``timeout`` seconds after creation; None if the
    cache cannot be reached."""
    try:
        # add() creates the counter once; incr() is atomic on Redis.
        cache.add(key, 0, timeout=timeout)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=timeout)
            return 1
    except UNAVAILABLE as exc:
        logger.warning("cache unavailable, counter %s not kept: %s", key.split(":")[0], exc)
        return None


def get(key: str, default: Any = None) -> Any:
    try:
        return cache.get(key, default)
    except UNAVAILABLE as exc:
        logger.warning("cache unavailable: %s", exc)
        return default


def set(key: str, value: Any, *, timeout: int) -> None:
    try:
        cache.set(key, value, timeout=timeout)
    except UNAVAILABLE as exc:
        logger.warning("cache unavailable: %s", exc)


def delete(key: str) -> None:
    try:
        cache.delete(key)
    except UNAVAILABLE as exc:
        logger.warning("cache unavailable: %s", exc)
