"""Counters for benchmark runs only: SQL statements, Celery messages published, HTTP requests and
connections opened, per process, written to FG_BENCH_SQL_COUNT_DIR/<pid>.json.

Installed by bench/settings_bench.py (``INSTALLED_APPS += ["bench.probe.ProbeConfig"]``) and
inert without the environment variable. Nothing of the application imports it: the benchmark
stack points DJANGO_SETTINGS_MODULE at bench.settings_bench.

What counts as a statement: every ``execute``/``executemany`` through a Django cursor (ORM,
raw SQL, SAVEPOINT/RELEASE of nested atomics). The implicit BEGIN and the COMMIT that psycopg
sends for Django are not statements here (bench_pipeline reads transactions from Postgres).
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Any

from django.apps import AppConfig

FLUSH_SECONDS = 1.0

_sql: Counter[str] = Counter()
_published: Counter[str] = Counter()
_requests: Counter[str] = Counter()
_connects: Counter[str] = Counter()
_db_connects: Counter[str] = Counter()  # by alias: Django connections opened
_lock = threading.Lock()
_dir: Path | None = None


def _role() -> str:
    argv = " ".join(sys.argv)
    if "gunicorn" in argv:
        return "web"
    if " beat" in argv:
        return "beat"
    if "worker" in argv:
        return "worker"
    return "other"


def _count_sql(execute: Any, sql: str, params: Any, many: bool, context: dict) -> Any:
    # The hot path: one dict increment keyed by the SQL text (normalized by the reader).
    with _lock:
        _sql[sql] += len(params) if many and isinstance(params, list | tuple) else 1
    return execute(sql, params, many, context)


def _on_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    with _lock:
        _db_connects[connection.alias] += 1
    if _count_sql not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_sql)


def _on_publish(sender: str | None = None, **kwargs: Any) -> None:
    with _lock:
        _published[str(sender)] += 1


_flushed_at = -1


def _flush() -> None:
    global _flushed_at
    if _dir is None:
        return
    with _lock:
        # An idle process rewrites nothing: the probe's own cost stays off the CPU measured.
        seen = (sum(_sql.values()) + sum(_published.values()) + sum(_requests.values())
                + sum(_db_connects.values()))
        if seen == _flushed_at:
            return
        _flushed_at = seen
        data = {"pid": os.getpid(), "role": _role(), "sql": dict(_sql),
                "published": dict(_published), "requests": dict(_requests),
                "connects": dict(_connects), "db_connects": dict(_db_connects)}
    path = _dir / f"{os.getpid()}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)  # the bench never reads half a file


def _flusher() -> None:
    stop = threading.Event()
    while not stop.wait(FLUSH_SECONDS):
        with suppress(OSError):  # a full disk must not take a gateway process down
            _flush()


def _start_flusher() -> None:
    threading.Thread(target=_flusher, name="bench-probe", daemon=True).start()


def _after_fork() -> None:
    # A prefork child starts from zero under its own pid; threads do not survive a fork, and a
    # lock another thread held at the fork would never be released.
    global _lock, _flushed_at
    _lock = threading.Lock()
    _flushed_at = -1
    for counter in (_sql, _published, _requests, _connects, _db_connects):
        counter.clear()
    _start_flusher()


def _patch_httpcore() -> None:
    import httpcore
    from httpcore._backends.sync import SyncBackend

    handle_request = httpcore.ConnectionPool.handle_request
    connect_tcp = SyncBackend.connect_tcp

    def counted_request(self: Any, request: Any) -> Any:
        with _lock:
            _requests[str(request.url.port)] += 1
        return handle_request(self, request)

    def counted_connect(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            _connects[str(port)] += 1
        return connect_tcp(self, host, port, *args, **kwargs)

    httpcore.ConnectionPool.handle_request = counted_request  # type: ignore[method-assign]
    SyncBackend.connect_tcp = counted_connect  # type: ignore[method-assign]


def install(directory: str) -> None:
    global _dir
    from celery.signals import before_task_publish
    from django.db import connections
    from django.db.backends.signals import connection_created

    _dir = Path(directory)
    _dir.mkdir(parents=True, exist_ok=True)
    connection_created.connect(_on_connection, weak=False)
    for conn in connections.all(initialized_only=True):
        if _count_sql not in conn.execute_wrappers:
            conn.execute_wrappers.append(_count_sql)
    before_task_publish.connect(_on_publish, weak=False)
    _patch_httpcore()
    os.register_at_fork(after_in_child=_after_fork)
    atexit.register(_flush)
    _start_flusher()


class ProbeConfig(AppConfig):
    name = "bench.probe"
    label = "bench_probe"

    def ready(self) -> None:
        directory = os.environ.get("FG_BENCH_SQL_COUNT_DIR")
        if directory:
            install(directory)
