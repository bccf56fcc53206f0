"""Thin Celery tasks: load by id, call one service, classify. Postgres holds the schedule."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from kombu.exceptions import OperationalError

from fiscal import operations, steps
from fiscal.hooks import empresa_sync_hooks
from fiscal.models import NextAction
from tenants.models import Empresa

logger = logging.getLogger("fiscal.tasks")

def enqueue_step(note_id: int, action: str, token: str) -> bool:
    """Hand a claimed step to a worker. If the broker is down the claim's lease runs out and
    the dispatcher takes the note again: nothing is lost."""
    try:
        # Submits have their own queue, so a backlog of polls never delays emission.
        queue = "submit" if action == NextAction.SUBMIT else "sync"
        # argsrepr: the claim token is a capability, not something for Celery's events and
        # logs to show; and Celery's saferepr of the arguments was an eighth of the publish.
        note_step.apply_async((note_id, token), queue=queue, retry=False,
                              argsrepr=f"({note_id}, '…')", kwargsrepr="{}")
    except OperationalError as exc:
        logger.warning("broker unavailable, note %s waits for the dispatcher: %s", note_id, exc)
        return False
    return True


@shared_task(acks_late=True, ignore_result=True)
def note_step(note_id: int, token: str) -> None:
    claimed = steps.note_claim(note_id=note_id, token=token)
    if claimed:
        steps.note_run_step(note_id=note_id, token=claimed)


@shared_task(acks_late=True, ignore_result=True)
def fiscal_event_step(event_id: int, token: str) -> None:
    operations.event_run_step(event_id=event_id, token=token)


@shared_task(ignore_result=True)
def dispatch_notes() -> int:
    """Beat, every second: hand due notes and operations to the workers."""
    claimed = steps.dispatch_due_notes()
    for note_id, action, token in claimed:
        enqueue_step(note_id, action, token)
    events = operations.dispatch_due_events()
    for event_id, token in events:
        try:
            fiscal_event_step.apply_async((event_id, token), queue="sync", retry=False)
        except OperationalError as exc:
            logger.warning("broker unavailable, operation %s waits: %s", event_id, exc)
    return len(claimed) + len(events)


def enqueue_hook_sync(empresa_id: int) -> None:
    """Best effort: the hourly reconcile registers whatever this could not hand over."""
    if not settings.FG_FOCUS_HOOKS_ENABLED:
        return
    try:
        sync_empresa_hooks.apply_async((empresa_id,), queue="sync", retry=False)
    except OperationalError as exc:
        logger.warning("broker unavailable, hooks of empresa %s wait for reconcile: %s",
                       empresa_id, exc)


@shared_task(ignore_result=True)
def sync_empresa_hooks(empresa_id: int) -> None:
    empresa = Empresa.objects.filter(pk=empresa_id).first()
    if empresa:
        empresa_sync_hooks(empresa=empresa)


@shared_task(ignore_result=True)
def reconcile_focus_hooks() -> None:
    for empresa_id in Empresa.objects.filter(is_active=True).values_list("pk", flat=True):
        sync_empresa_hooks.apply_async((empresa_id,), queue="sync")
