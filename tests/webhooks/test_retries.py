from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from standardwebhooks import Webhook

from tests.conftest import Actor
from tests.webhooks.conftest import Reply, create_endpoint, make_note, publish_note, run_due
from webhooks.endpoints import endpoint_enable
from webhooks.models import Attempt, Delivery, Event


def _delivery() -> Delivery:
    return Delivery.objects.get()


def test_failures_follow_the_schedule_with_jitter_and_keep_the_webhook_id(
    actor: Actor, empresa, receiver, settings
) -> None:
    settings.FG_WEBHOOKS_RETRY_SCHEDULE = [5, 300, 1800]
    settings.FG_WEBHOOKS_RETRY_JITTER = 0.2
    receiver.default = Reply(status=500, body=b"boom")
    create_endpoint(actor, receiver.url())
    publish_note(make_note(empresa))
    now = timezone.now()

    assert run_due(now) == ["retry"]
    delivery = _delivery()
    assert delivery.attempts == 1 and delivery.state == "pending"
    assert now + timedelta(seconds=4) <= delivery.next_attempt_at <= now + timedelta(seconds=6)
    # Not due before its time: nothing is sent.
    assert run_due(now + timedelta(seconds=3)) == []

    for step, delay in enumerate([300, 1800], start=2):
        now = delivery.next_attempt_at
        assert run_due(now) == ["retry"]
        delivery = _delivery()
        assert delivery.attempts == step
        low, high = timedelta(seconds=delay * 0.8), timedelta(seconds=delay * 1.2)
        assert now + low <= delivery.next_attempt_at <= now + high

    # The schedule has run out: failed for good, visible, replayable.
    assert run_due(delivery.next_attempt_at) == ["failed"]
    delivery = _delivery()
    assert delivery.state == "failed" and delivery.next_attempt_at is None
    assert delivery.last_status_code == 500
    assert Attempt.objects.filter(delivery=delivery).count() == 4
    assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery.webhook_id}
    assert len({r.headers["webhook-timestamp"] for r in receiver.requests}) >= 1


def test_the_default_schedule_spans_about_three_days(settings) -> None:
    total = sum(settings.FG_WEBHOOKS_RETRY_SCHEDULE)
    assert 2.5 * 86400 <= total <= 3.5 * 86400
    assert settings.FG_WEBHOOKS_RETRY_SCHEDULE[0] == 5


def test_only_2xx_is_success_and_redirects_are_not_followed(actor: Actor, empresa,
                                                           make_receiver) -> None:
    first, target = make_receiver(), make_receiver()
    first.reply(Reply(status=302, headers={"Location": target.url()}), Reply(status=204))
    create_endpoint(actor, first.url())
    publish_note(make_note(empresa))
    now = timezone.now()
    assert run_due(now) == ["retry"]
    attempt = Attempt.objects.get()
    assert attempt.status_code == 302 and "redirect" in attempt.error
    assert target.requests == []  # never followed
    assert run_due(_delivery().next_attempt_at) == ["succeeded"]
    assert _delivery().last_status_code == 204


def test_retry_after_is_honoured(actor: Actor, empresa, receiver) -> None:
    receiver.reply(Reply(status=429, headers={"Retry-After": "120"}))
    create_endpoint(actor, receiver.url())
    publish_note(make_note(empresa))
    now = timezone.now()
    assert run_due(now) == ["retry"]
    assert _delivery().next_attempt_at == now + timedelta(seconds=120)
    assert run_due(now + timedelta(seconds=119)) == []
    assert run_due(now + timedelta(seconds=120)) == ["succeeded"]


def test_410_disables_the_endpoint_and_re_enabling_delivers_what_is_pending(
    actor: Actor, empresa, receiver
) -> None:
    receiver.reply(Reply(status=410, body=b"gone"))
    endpoint, secret = create_endpoint(actor, receiver.url())
    publish_note(make_note(empresa))
    assert run_due() == ["paused"]
    endpoint.refresh_from_db()
    assert endpoint.is_active is False and "410" in endpoint.disabled_reason
    # The tenant sees why, in its event feed.
    disabled = Event.objects.get(type="webhook_endpoint.disabled")
    assert disabled.sequence == 2 and disabled.data["endpoint_id"] == endpoint.pk

    # Meanwhile more happens: kept for the endpoint, not sent.
    publish_note(make_note(empresa))
    later = timezone.now() + timedelta(days=1)
    assert run_due(later) == []
    assert len(receiver.requests) == 1

    endpoint_enable(endpoint=endpoint, now=later)
    outcomes = run_due(later)
    assert outcomes == ["succeeded"] * 3  # the 410'd one, the later note, the disabled event
    types = sorted(Webhook(secret).verify(r.body, r.headers)["type"]
                   for r in receiver.requests[1:])
    assert types == ["note.authorized", "note.authorized", "webhook_endpoint.disabled"]


def test_an_endpoint_failing_for_days_is_disabled_with_a_reason(actor: Actor, empresa, receiver,
                                                                 settings) -> None:
    settings.FG_WEBHOOKS_DISABLE_AFTER_HOURS = 48
    settings.FG_WEBHOOKS_RETRY_JITTER = 0  # the disabling attempt is then not the last one
    receiver.default = Reply(status=503)
    endpoint, _ = create_endpoint(actor, receiver.url())
    healthy_sibling, _ = create_endpoint(actor, receiver.url("/sibling"),
                                         event_types=["webhook_endpoint.disabled"])
    publish_note(make_note(empresa))
    start = timezone.now()
    now = start
    while True:
        run_due(now)
        endpoint.refresh_from_db()
        if not endpoint.is_active:
            break
        now = _delivery_of(endpoint).next_attempt_at
        assert now is not None and now - start < timedelta(days=3)
    assert now - start >= timedelta(hours=48)
    assert "Failing without a success since" in endpoint.disabled_reason
    assert "HTTP 503" in endpoint.disabled_reason
    event = Event.objects.get(type="webhook_endpoint.disabled")
    assert event.data["reason"] == endpoint.disabled_reason
    # The pending delivery waits, paused; the sibling subscribed to the event hears of it.
    assert _delivery_of(endpoint).state == "pending"
    assert _delivery_of(endpoint).next_attempt_at is None
    assert Delivery.objects.filter(endpoint=healthy_sibling, event=event).exists()


def _delivery_of(endpoint) -> Delivery:
    return Delivery.objects.filter(endpoint=endpoint).order_by("id").first()


def test_a_receiver_down_for_a_day_loses_nothing(actor: Actor, empresa, receiver) -> None:
    _, secret = create_endpoint(actor, receiver.url())
    receiver.default = Reply(status=502)
    start = timezone.now()
    for _ in range(5):
        publish_note(make_note(empresa))
    now = start
    # A day of failures, driven by the schedule's own times.
    while now < start + timedelta(days=1):
        run_due(now)
        now = min(d.next_attempt_at for d in Delivery.objects.all())
    assert not Delivery.objects.exclude(state="pending").exists()
    receiver.default = Reply(status=200)
    while Delivery.objects.filter(state="pending").exists():
        run_due(now)
        nexts = [d.next_attempt_at for d in Delivery.objects.filter(state="pending")]
        now = min(nexts) if nexts else now
    assert set(Delivery.objects.values_list("state", flat=True)) == {"succeeded"}
    # The five acknowledged requests verify and carry every event, in any order.
    acknowledged = receiver.requests[-5:]
    sequences = sorted(Webhook(secret).verify(r.body, r.headers)["sequence"]
                       for r in acknowledged)
    assert sequences == [1, 2, 3, 4, 5]
    assert len(receiver.requests) > 10  # it really was down: every delivery was retried


def test_a_hanging_receiver_times_out_within_the_bound(actor: Actor, empresa, receiver,
                                                       settings) -> None:
    settings.FG_WEBHOOKS_TIMEOUT = 0.5
    receiver.reply(Reply(hang=5))
    create_endpoint(actor, receiver.url())
    publish_note(make_note(empresa))
    assert run_due() == ["retry"]
    attempt = Attempt.objects.get()
    assert attempt.status_code is None and "timeout" in attempt.error
    receiver.release.set()
