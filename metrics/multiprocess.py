"""prometheus-client's multiprocess mode: every process writes its counters to files in
``PROMETHEUS_MULTIPROC_DIR`` and the scrape sums them (gunicorn workers, Celery pool children).

Kept free of Django so that gunicorn's configuration can call ``wipe`` at start-up.

Files are named by host and pid (``counter_<host>-<pid>.db``), not by pid alone, so that two
hosts writing to one folder by mistake never share a file.

The folder belongs to one process group and is emptied when the group starts, while none of
its processes runs (removing a dead process's file while others live would lower a counter's
sum: a false reset). The embedded mode's group is everything ``make run`` starts, which clears
``var/prometheus`` before honcho starts them; in the services mode each container is a group
(web: gunicorn's master clears it in ``on_starting``; worker: the Celery main process, before
its pool starts) and must have a folder of its own (deploy/README.md).
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

from prometheus_client import values

ENV = "PROMETHEUS_MULTIPROC_DIR"
INSTANCE = socket.gethostname()


def configure(*, services: bool, var_dir: Path | None = None) -> None:
    """Default the folder (config/settings.py; gunicorn's master, which has no settings):
    embedded, ``var/prometheus`` shared by make run's processes; services, one per container."""
    default = (Path(tempfile.gettempdir()) / "fg-prometheus" if services or var_dir is None
               else var_dir / "prometheus")
    os.environ.setdefault(ENV, str(default))


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


def wipe() -> int:
    """Empty the folder of an earlier run of this group. Returns how many files went."""
    folder = directory()
    if folder is None or not folder.is_dir():
        return 0
    removed = 0
    for path in folder.glob("*.db"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed
