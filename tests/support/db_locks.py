"""Postgres's own word on a race: whether another backend is waiting for this one's locks.

A test that holds a transaction open "long enough" for another thread to collide with it waits
a guess, and passes without the collision when the machine is slow. Asking Postgres who is
blocked by whom makes the hold exactly as long as the collision takes.
"""

from __future__ import annotations

import time

from django.db import connection


def backends_blocked_by_me() -> int:
    """How many backends of this database wait for a lock this connection holds."""
    with connection.cursor() as cursor:
        # pg_stat_activity is a per-transaction snapshot: clear it to see the other side.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        )
        return int(cursor.fetchone()[0])


def wait_until_another_backend_waits_on_me(timeout: float = 15.0) -> bool:
    """Bounded: True once some backend is blocked by this connection's locks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if backends_blocked_by_me():
            return True
        time.sleep(0.02)
    return False
