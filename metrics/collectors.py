"""Gauges read at scrape time: from Postgres (the truth, DESIGN.md §2) and from the broker.

Computed by the process that answers the scrape, so they are right however many workers run
and whichever of them died. A fixed number of queries per scrape, whatever the number of rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from kombu import Connection
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from config import console
from fiscal.models import NextAction
from metrics import selectors

logger = logging.getLogger("metrics")

BROKER_TIMEOUT = 1.0


def _age(now: datetime, since: datetime | None) -> float:
    return max((now - since).total_seconds(), 0.0) if since else 0.0


def queue_depths() -> dict[str, int]:
    """Messages waiting per Celery queue, as the broker counts them (kombu's own count:
    LLEN of each queue's lists on Redis, files of that queue with the filesystem broker)."""
    with Connection(
        settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT,
        transport_options={**settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                           "socket_timeout": BROKER_TIMEOUT},
    ) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                               timeout=BROKER_TIMEOUT)
        channel = conn.default_channel
        # A non-passive declare of a kombu virtual queue writes nothing (Redis, filesystem)
        # and answers the queue's size; a passive one fails for a queue with no message yet.
        return {queue.name: channel.queue_declare(queue=queue.name).message_count
                for queue in settings.CELERY_TASK_QUEUES}


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from self._notes(now)
        yield from self._webhooks()
        yield from self._archive(now)
        yield from self._certificates(now)
        yield from self._queues()

    def _notes(self, now: datetime) -> Iterator[Metric]:
        rows = {row["next_action"]: row for row in console.pending_by_next_action()}
        pending = GaugeMetricFamily(
            "fg_pending_notes", "Notes the gateway still owes work (submit or sync).",
            labels=["next_action"],
        )
        for action in (NextAction.SUBMIT, NextAction.SYNC):
            pending.add_metric([action.value], rows.get(action, {}).get("count", 0))
        yield pending
        oldest = min((row["oldest"] for row in rows.values() if row["oldest"]), default=None)
        yield GaugeMetricFamily(
            "fg_oldest_pending_seconds", "Age of the oldest note with work pending (0: none).",
            value=_age(now, oldest),
        )
        stuck_count, _ = console.stuck_notes()
        yield GaugeMetricFamily(
            "fg_stuck_notes",
            "Notes still without a final status after the sync horizon (FG_SYNC_HORIZON).",
            value=stuck_count,
        )

    def _webhooks(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "fg_webhook_endpoints_disabled", "Webhook endpoints switched off (not deleted).",
            value=selectors.disabled_endpoints_count(),
        )

    def _archive(self, now: datetime) -> Iterator[Metric]:
        backlog = console.archive_backlog()
        yield GaugeMetricFamily(
            "fg_archive_backlog", "Fiscal files waiting to be archived.", value=backlog["pending"],
        )
        yield GaugeMetricFamily(
            "fg_archive_oldest_pending_seconds",
            "Age of the oldest file waiting to be archived (0: none).",
            value=_age(now, backlog["oldest_pending"]),
        )
        problems = GaugeMetricFamily(
            "fg_archive_verification_problems",
            "Archived files whose last verification failed.", labels=["result"],
        )
        problems.add_metric(["mismatch"], backlog["mismatch"])
        problems.add_metric(["missing"], backlog["missing"])
        yield problems

    def _certificates(self, now: datetime) -> Iterator[Metric]:
        windows, soonest = selectors.certificates_expiring(now=now)
        expiring = GaugeMetricFamily(
            "fg_certificates_expiring",
            "Active companies whose certificate ends within the days (0: already expired).",
            labels=["within_days"],
        )
        for days, count in windows.items():
            expiring.add_metric([str(days)], count)
        yield expiring
        if soonest is not None:
            yield GaugeMetricFamily(
                "fg_certificate_min_expires_in_seconds",
                "Seconds until the soonest certificate of an active company ends (negative: "
                "already expired).",
                value=(soonest - now).total_seconds(),
            )

    def _queues(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("fg_celery_broker_up", "1 if the scrape could read the broker.")
        try:
            depths = queue_depths()
        except Exception as exc:  # noqa: BLE001 - a broker down is a value, not a failed scrape
            logger.warning("metrics: broker not readable for queue depths: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        depth = GaugeMetricFamily(
            "fg_celery_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"],
        )
        for name, count in depths.items():
            depth.add_metric([name], count)
        yield depth
