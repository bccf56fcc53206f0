"""Gunicorn settings, from the same environment as the application (see .env.example)."""

from __future__ import annotations

import os

bind = os.environ.get("FG_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("FG_WEB_WORKERS", "2"))
threads = int(os.environ.get("FG_WEB_THREADS", "4"))
timeout = int(os.environ.get("FG_WEB_TIMEOUT", "60"))
graceful_timeout = 30
accesslog = "-"
# %(U)s is the path without the query string: ?token=<key> never reaches the access log.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
