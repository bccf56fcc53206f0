"""prometheus-client's multiprocess mode: every process writes its counters to files in
``PROMETHEUS_MULTIPROC_DIR`` and the scrape sums them (gunicorn workers, Celery pool children).

Kept free of Django so that gunicorn's configuration can call ``wipe_own_files`` at start-up.

Files are named by host and pid (``counter_<host>-<pid>.db``), not by pid alone, so that web and
worker containers may share one directory (a volume) without two pid 7s writing one file. A
process group clears its own host's files when it starts (gunicorn's master, the Celery main
process) in services mode; in the embedded mode web, worker and beat share the host and one
folder, so ``make run`` clears the whole folder before they start.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from prometheus_client import values

ENV = "PROMETHEUS_MULTIPROC_DIR"
# Same-host deployments with several process groups (systemd units) give each its own name.
INSTANCE = os.environ.get("FG_METRICS_INSTANCE", "").strip() or socket.gethostname()


def directory() -> Path | None:
    raw = os.environ.get(ENV, "").strip()
    return Path(raw) if raw else None


def process_identifier() -> str:
    # Called on every increment (the client's fork check): the host part is computed once.
    return f"{INSTANCE}-{os.getpid()}"


def install() -> None:
    """Name this process's files by host and pid. Before any metric is created."""
    folder = directory()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        values.ValueClass = values.MultiProcessValue(process_identifier)


def wipe_own_files() -> int:
    """Remove this host's files of earlier runs; the other hosts' files stay. Returns a count."""
    folder = directory()
    if folder is None or not folder.is_dir():
        return 0
    removed = 0
    for path in folder.glob(f"*_{INSTANCE}-*.db"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed
