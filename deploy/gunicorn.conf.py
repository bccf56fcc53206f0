"""Gunicorn settings, from the same environment as the application (see .env.example)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The config file is loaded before the application, from wherever gunicorn was started.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.logging import logging_config

bind = os.environ.get("FG_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("FG_WEB_WORKERS", "2"))
threads = int(os.environ.get("FG_WEB_THREADS", "4"))
timeout = int(os.environ.get("FG_WEB_TIMEOUT", "60"))
graceful_timeout = 30
accesslog = "-"
# %(U)s is the path without the query string: ?token=<key> never reaches the access log. The
# request id (the X-Request-Id the application answered) is added by core.logging.ContextFilter.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
# Gunicorn's own lines and the access log go through the application's configuration: one
# format (FG_LOG_FORMAT), UTC timestamps, secrets redacted.
logconfig_dict = logging_config(level=os.environ.get("FG_LOG_LEVEL", "INFO").strip() or "INFO",
                                fmt=os.environ.get("FG_LOG_FORMAT", "plain").strip().lower()
                                or "plain")


def on_starting(server: object) -> None:
    """The master, before any worker: in the services mode the web container is a metrics
    process group of its own, so the counters files of its earlier run go (metrics/multiprocess.py).
    In the embedded mode web, worker and beat share the folder and ``make run`` empties it."""
    if os.environ.get("FG_MODE", "embedded").strip().lower() == "services":
        from metrics import multiprocess

        multiprocess.configure(services=True)  # the folder the workers will inherit
        multiprocess.wipe()
