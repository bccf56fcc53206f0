from __future__ import annotations

import logging.config
import os
from typing import Any

from celery import Celery, signals

from core.logging import log_bind, log_clear

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("fiscal_gateway")
# Every CELERY_* Django setting configures the app (see config/settings.py).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def _logging_from_settings(**kwargs: Any) -> None:
    """The worker and beat log through settings.LOGGING, like the web: the same format, UTC
    timestamps, level (FG_LOG_LEVEL; ``--loglevel`` is not used) and quiet tick loggers.
    Connecting this signal is how Celery is told not to install its own handlers."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@signals.task_prerun.connect
def _bind_task(task_id: str, task: Any, **kwargs: Any) -> None:
    # A fresh context per task: a pool process runs many tasks, one after another.
    log_clear()
    log_bind(task=task.name, task_id=task_id)
    _close_old_connections(task)


@signals.task_postrun.connect
def _unbind_task(task: Any = None, **kwargs: Any) -> None:
    log_clear()
    _close_old_connections(task)


def _close_old_connections(task: Any) -> None:
    """What Django does around each request, around each task: drop a connection that is
    broken, in an error state or past CONN_MAX_AGE, and health-check the kept one before
    reuse. Celery's fixup no longer closes them every time (CELERY_DB_REUSE_MAX)."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # eager: inside the caller's own request or test transaction
    from django.db import close_old_connections

    close_old_connections()
