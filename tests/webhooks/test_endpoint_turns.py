"""A task's turn on a healthy endpoint: after a success it sends the endpoint's next due
deliveries itself, within the cap, and a failure ends the turn."""

from __future__ import annotations

from django.utils import timezone

from tests.conftest import Actor
from tests.webhooks.conftest import Reply, create_endpoint, make_note, publish_note
from webhooks import delivery as delivery_module
from webhooks import tasks
from webhooks.dispatch import dispatch_due, endpoint_claim_next
from webhooks.endpoints import endpoint_disable
from webhooks.models import Delivery


def _claimed(enqueued: list[tuple[int, str]]) -> tuple[int, str]:
    assert dispatch_due() >= 1
    return enqueued.pop(0)


def test_one_task_sends_the_endpoints_backlog_in_order_without_more_messages(
    actor: Actor, other: Actor, empresa, make_empresa, receiver, enqueued, settings
) -> None:
    settings.FG_WEBHOOKS_MAX_IN_FLIGHT = 1
    endpoint, _ = create_endpoint(actor, receiver.url("/mine"))
    create_endpoint(other, receiver.url("/theirs"))
    for _ in range(4):
        publish_note(make_note(empresa))
    publish_note(make_note(make_empresa(other.tenant)))
    enqueued.clear()
    assert dispatch_due() == 2  # one per endpoint: the cap
    first, token = next((i, t) for i, t in enqueued
                        if Delivery.objects.get(pk=i).endpoint_id == endpoint.pk)
    enqueued.clear()

    assert tasks.deliver(first, token) == "succeeded"

    mine = Delivery.objects.filter(endpoint=endpoint)
    assert set(mine.values_list("state", flat=True)) == {"succeeded"}
    assert [r.path for r in receiver.requests] == ["/mine"] * 4
    # Oldest first, as the dispatcher orders them.
    sent = [r.headers["webhook-id"] for r in receiver.requests]
    assert sent == list(mine.order_by("id").values_list("webhook_id", flat=True))
    assert enqueued == []  # no Celery message per delivery
    # The other tenant's delivery is untouched: still claimed for its own task.
    assert Delivery.objects.exclude(endpoint=endpoint).get().state == "sending"


def test_a_failure_ends_the_turn_and_keeps_the_retry_schedule(actor: Actor, empresa, receiver,
                                                              enqueued, settings) -> None:
    settings.FG_WEBHOOKS_MAX_IN_FLIGHT = 1
    create_endpoint(actor, receiver.url())
    for _ in range(3):
        publish_note(make_note(empresa))
    receiver.replies = [Reply(), Reply(status=500)]
    enqueued.clear()
    delivery_id, token = _claimed(enqueued)

    assert tasks.deliver(delivery_id, token) == "retry"

    assert len(receiver.requests) == 2
    states = list(Delivery.objects.order_by("id").values_list("state", "attempts"))
    assert states == [("succeeded", 0), ("pending", 1), ("pending", 0)]
    assert enqueued == []


def test_the_next_claim_keeps_the_cap_and_skips_a_paused_endpoint(actor: Actor, empresa,
                                                                  receiver, enqueued,
                                                                  settings) -> None:
    settings.FG_WEBHOOKS_MAX_IN_FLIGHT = 2
    endpoint, _ = create_endpoint(actor, receiver.url())
    for _ in range(4):
        publish_note(make_note(empresa))
    enqueued.clear()
    assert dispatch_due() == 2
    # Two in flight: the cap is full.
    assert endpoint_claim_next(endpoint_id=endpoint.pk) is None
    Delivery.objects.filter(pk=enqueued[0][0]).update(state="succeeded", claim_token="")
    claimed = endpoint_claim_next(endpoint_id=endpoint.pk, now=timezone.now())
    assert claimed is not None
    row = Delivery.objects.get(pk=claimed[0])
    assert (row.state, row.claim_token) == ("sending", claimed[1])

    Delivery.objects.filter(pk=claimed[0]).update(state="succeeded", claim_token="")
    endpoint_disable(endpoint=endpoint, reason="maintenance", notify=False)
    assert endpoint_claim_next(endpoint_id=endpoint.pk) is None


def test_a_long_turn_hands_the_slot_on_through_celery(actor: Actor, empresa, receiver,
                                                      enqueued, settings,
                                                      monkeypatch) -> None:
    settings.FG_WEBHOOKS_MAX_IN_FLIGHT = 1
    monkeypatch.setattr(delivery_module, "TURN_DELIVERIES", 2)
    create_endpoint(actor, receiver.url())
    for _ in range(4):
        publish_note(make_note(empresa))
    enqueued.clear()
    delivery_id, token = _claimed(enqueued)

    assert tasks.deliver(delivery_id, token) == "succeeded"

    assert len(receiver.requests) == 2
    # The third is claimed and sent as a message: other endpoints' tasks get their turn.
    (handed, _), = enqueued
    assert Delivery.objects.get(pk=handed).state == "sending"
    assert Delivery.objects.filter(state="pending").count() == 1
