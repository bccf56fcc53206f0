"""Thin tasks: load by id, call one service. The schedule lives in Postgres, not here."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from webhooks import certificates, delivery, dispatch, signals

# Bounded: a turn starts its last attempt within TURN_SECONDS, and one attempt is at most
# FG_WEBHOOKS_TIMEOUT of HTTP plus bookkeeping.
_DELIVER_LIMIT = int(delivery.TURN_SECONDS + settings.FG_WEBHOOKS_TIMEOUT) + 20


@shared_task(name="webhooks.tasks.dispatch_deliveries", queue="webhooks", time_limit=30,
             soft_time_limit=25, ignore_result=True)
def dispatch_deliveries() -> int:
    """Beat, every second: claim due deliveries and enqueue them."""
    return dispatch.dispatch_due()


@shared_task(name="webhooks.tasks.deliver", queue="webhooks", time_limit=_DELIVER_LIMIT,
             soft_time_limit=_DELIVER_LIMIT - 5, ignore_result=True)
def deliver(delivery_id: int, claim_token: str) -> str:
    """Send one claimed delivery (and, on success, a short turn of its endpoint's next ones).
    Retries are rows (next_attempt_at), never Celery retries: a failure is recorded and
    rescheduled by the service, so the task itself always ends."""
    status = "not_claimed"
    for outcome in delivery.deliveries_send(delivery_id=delivery_id, claim_token=claim_token):
        signals.delivery_attempted.send_robust(sender=None, outcome=outcome)
        status = outcome.status
    return status


@shared_task(name="webhooks.tasks.certificate_notices", queue="webhooks", time_limit=300,
             soft_time_limit=280, ignore_result=True)
def certificate_notices() -> int:
    """Beat, hourly: publish the certificate warnings that are due (idempotent)."""
    return certificates.certificate_notices_publish()
