"""A delivery's outcome is one INFO line, with the tenant and the note it is about."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests.conftest import Actor
from tests.support.logs import json_lines
from tests.webhooks.conftest import Reply, create_endpoint, make_note, publish_note, run_due
from webhooks.models import Delivery


def test_a_failed_then_succeeded_delivery_logs_one_line_each(actor: Actor, other: Actor,
                                                              empresa, make_empresa,
                                                              receiver, settings) -> None:
    settings.FG_WEBHOOKS_RETRY_SCHEDULE = [5, 300]
    settings.FG_WEBHOOKS_RETRY_JITTER = 0.0
    receiver.reply(Reply(status=500, body=b"boom"), Reply(status=200))
    create_endpoint(actor, receiver.url())
    create_endpoint(other, receiver.url("/other"))  # no note of the other tenant: never called
    note = make_note(empresa)
    publish_note(note)
    now = timezone.now()
    with json_lines() as logs:
        assert run_due(now) == ["retry"]
        assert run_due(now + timedelta(seconds=6)) == ["succeeded"]
    delivery = Delivery.objects.get()
    lines = [r for r in logs.records() if r["logger"] == "webhooks"]
    assert [r["message"] for r in lines] == [
        f"webhook delivery {delivery.pk} failed (retry, attempt 1): HTTP 500",
        f"webhook delivery {delivery.pk} succeeded (HTTP 200)",
    ]
    assert all(r["level"] == "INFO" and r["tenant_id"] == actor.tenant.pk
               and r["note_id"] == note.pk for r in lines)
    assert [r.path for r in receiver.requests] == ["/hook", "/hook"]
