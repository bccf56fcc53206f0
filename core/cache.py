"""Counters in the shared cache that must never take the service down with them.

The per-tenant and per-Focus-token budgets live in Redis in services mode. If Redis is
unreachable, notes must still be accepted (Postgres is the truth): a budget that cannot be read
is treated as not spent, and Focus's own 429 remains the last word upstream.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger("core.cache")

UNAVAILABLE = (RedisError, OSError)


def incr(key: str, *, timeout: int) -> int | None:
    """Add one to a counter that expires ``timeout`` seconds after creation; None if the
    cache cannot be reached."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        try:
            return _redis_incr(backend, key, timeout)
        except UNAVAILABLE as exc:
            logger.warning("cache unavailable, counter %s not kept: %s", key.split(":")[0], exc)
            return None
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


# One client per cache backend (Django's builds a new one per call, a tenth of a millisecond).
_clients: weakref.WeakKeyDictionary[RedisCache, Any] = weakref.WeakKeyDictionary()


def _redis_incr(backend: RedisCache, key: str, timeout: int) -> int:
    """``incr`` on Redis in one round trip, atomic (MULTI): create the counter with its expiry
    if it is missing, then add one. Through Django's API it took three (add: SET NX; incr:
    EXISTS, INCRBY) on every request the tenant budget counts, and every Focus call. The
    counter is the integer Django's own ``add``/``get`` write and read."""
    name = backend.make_and_validate_key(key)
    client = _clients.get(backend)
    if client is None:
        client = _clients[backend] = backend._cache.get_client(name, write=True)
    with client.pipeline(transaction=True) as pipe:
        pipe.set(name, 0, ex=timeout, nx=True)
        pipe.incr(name)
        return pipe.execute()[1]


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
