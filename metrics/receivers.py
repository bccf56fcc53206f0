"""Where the counters hear of the work: fiscal changes, Focus calls, deliveries, verifications.

Connected once in ``MetricsConfig.ready``. Counters that describe a database change are bumped
on commit, so a rolled-back transaction counts nothing.
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_init, worker_ready
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone

from fiscal.changes import FiscalChange
from fiscal.focus import signals as focus_signals
from fiscal.models import NoteEvent, NoteStatus
from fiscal.services import STATUS_CHANGES
from metrics import instruments, multiprocess
from storage import signals as storage_signals
from webhooks import signals as webhook_signals

_STATUS_OF_CHANGE = {change: status for status, change in STATUS_CHANGES.items()}
_ENTERS_PROCESSING = frozenset({NoteEvent.Kind.CREATED, NoteEvent.Kind.RESENT})


def on_fiscal_change(change: FiscalChange) -> None:
    """A subscriber of fiscal/changes.py (settings.FG_CHANGE_SUBSCRIBERS)."""
    status = _STATUS_OF_CHANGE.get(change.type)
    if status is None or change.note is None:
        return
    doc_type = change.note.doc_type
    transaction.on_commit(lambda: instruments.notes.labels(doc_type, status).inc())


def on_note_event_saved(sender: Any, instance: NoteEvent, created: bool, **kwargs: Any) -> None:
    # Entering processando_autorizacao publishes no FiscalChange (nothing to tell a tenant
    # yet): the timeline's "created" and "resent" rows say it. Their note came with them.
    if created and instance.kind in _ENTERS_PROCESSING:
        doc_type = instance.note.doc_type
        transaction.on_commit(
            lambda: instruments.notes.labels(doc_type, NoteStatus.PROCESSANDO).inc()
        )


def on_focus_request(sender: Any, *, endpoint: str, code: str, seconds: float,
                     **kwargs: Any) -> None:
    instruments.focus_requests.labels(endpoint, code).inc()
    instruments.focus_request_seconds.labels(endpoint).observe(seconds)


def on_budget_wait(sender: Any, *, urgent: bool, **kwargs: Any) -> None:
    instruments.focus_budget_waits.labels("true" if urgent else "false").inc()


def on_delivery_attempted(sender: Any, *, outcome: Any, **kwargs: Any) -> None:
    attempt = outcome.attempt
    if attempt is None:  # nothing was sent (not claimed, or its endpoint is paused)
        return
    instruments.webhook_deliveries.labels(outcome.status).inc()
    if attempt.succeeded:
        # The attempt's delivery and event came with it (select_related): no query.
        lag = (timezone.now() - attempt.delivery.event.created_at).total_seconds()
        instruments.webhook_delivery_lag_seconds.observe(max(lag, 0.0))


def on_archive_verified(sender: Any, *, counts: dict[str, int], **kwargs: Any) -> None:
    for result in ("mismatch", "missing", "error"):
        if counts.get(result):
            instruments.archive_verify_failures.labels(result).inc(counts[result])


def on_worker_init(**kwargs: Any) -> None:
    # The Celery main process, before its pool starts: in the services mode the worker is a
    # process group of its own (metrics/multiprocess.py), so its earlier run's files go.
    if settings.SERVICES_MODE:
        multiprocess.wipe()


def on_worker_ready(**kwargs: Any) -> None:
    if settings.FG_METRICS_WORKER_PORT:
        from metrics import exporter

        exporter.start(host=settings.FG_METRICS_WORKER_BIND, port=settings.FG_METRICS_WORKER_PORT)


def connect() -> None:
    worker_init.connect(on_worker_init, dispatch_uid="metrics.worker_init")
    worker_ready.connect(on_worker_ready, dispatch_uid="metrics.worker_ready")
    post_save.connect(on_note_event_saved, sender=NoteEvent, dispatch_uid="metrics.note_event")
    focus_signals.focus_request.connect(on_focus_request, dispatch_uid="metrics.focus")
    focus_signals.budget_wait.connect(on_budget_wait, dispatch_uid="metrics.budget")
    webhook_signals.delivery_attempted.connect(on_delivery_attempted,
                                               dispatch_uid="metrics.delivery")
    storage_signals.archive_verified.connect(on_archive_verified, dispatch_uid="metrics.verify")
