"""Periodic housekeeping that belongs to no app in particular."""

from __future__ import annotations

import logging

from celery import shared_task

from core import partitions

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True, time_limit=600, soft_time_limit=540)
def partitions_maintain() -> None:
    """Month partitions ahead created, expired ones detached (idempotent; hourly by beat)."""
    for table, changes in partitions.maintain().items():
        if changes["created"] or changes["detached"]:
            logger.info("partitions of %s: created %s, detached %s",
                        table, changes["created"], changes["detached"])
