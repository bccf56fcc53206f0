from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from tests.conftest import Actor
from tests.webhooks.conftest import Reply, create_endpoint, make_note, publish_note
from webhooks import dispatch
from webhooks.delivery import delivery_attempt
from webhooks.dispatch import Enqueue, dispatch_due
from webhooks.endpoints import endpoint_disable, endpoint_enable
from webhooks.models import Delivery

CELERY_ENQUEUE = dispatch._celery_enqueue


def _claims() -> tuple[list[tuple[int, str]], Enqueue]:
    claimed: list[tuple[int, str]] = []
    return claimed, lambda delivery_id, token: claimed.append((delivery_id, token))


def test_the_dispatcher_caps_each_endpoint_and_stays_fair(actor: Actor, other: Actor, empresa,
                                                          make_empresa, receiver,
                                                          settings) -> None:
    settings.FG_WEBHOOKS_MAX_IN_FLIGHT = 2
    slow, _ = create_endpoint(actor, receiver.url("/slow"))
    for _ in range(10):
        publish_note(make_note(empresa))
    healthy, _ = create_endpoint(other, receiver.url("/healthy"))
    publish_note(make_note(make_empresa(other.tenant)))
    # A batch of three: the slow endpoint's backlog is older, yet cannot fill it.
    claimed, enqueue = _claims()
    assert dispatch_due(limit=3, enqueue=enqueue) == 3
    by_endpoint = Delivery.objects.filter(pk__in=[c[0] for c in claimed])
    assert sorted(d.endpoint_id for d in by_endpoint) == sorted([slow.pk, slow.pk, healthy.pk])

    # While two are in flight at the slow endpoint, it gets nothing more; others still do.
    publish_note(make_note(make_empresa(other.tenant, cnpj="12ABC34501DE35")))
    claimed, enqueue = _claims()
    dispatch_due(enqueue=enqueue)
    assert [Delivery.objects.get(pk=c[0]).endpoint_id for c in claimed] == [healthy.pk]


def test_a_lost_claim_is_taken_back_and_the_late_task_does_nothing(actor: Actor, empresa,
                                                                    receiver,
                                                                    settings) -> None:
    settings.FG_WEBHOOKS_CLAIM_TIMEOUT = 60
    create_endpoint(actor, receiver.url())
    publish_note(make_note(empresa))
    now = timezone.now()
    lost, enqueue = _claims()  # the message never reaches a worker
    dispatch_due(now=now, enqueue=enqueue)
    assert dispatch_due(now=now + timedelta(seconds=30), enqueue=enqueue) == 0
    again, enqueue = _claims()
    assert dispatch_due(now=now + timedelta(seconds=61), enqueue=enqueue) == 1
    (delivery_id, old_token), (_, new_token) = lost[0], again[0]
    assert old_token != new_token
    assert delivery_attempt(delivery_id=delivery_id, claim_token=old_token).status == (
        "not_claimed"
    )
    assert delivery_attempt(delivery_id=delivery_id, claim_token=new_token).status == (
        "succeeded"
    )
    # Running the task twice sends nothing more.
    assert delivery_attempt(delivery_id=delivery_id, claim_token=new_token).status == (
        "not_claimed"
    )
    assert len(receiver.requests) == 1


def test_a_broker_failure_gives_the_claim_back(actor: Actor, empresa, receiver) -> None:
    create_endpoint(actor, receiver.url())
    publish_note(make_note(empresa))

    def broken(delivery_id: int, token: str) -> None:
        raise ConnectionError("redis is down")

    assert dispatch_due(enqueue=broken) == 1
    delivery = Delivery.objects.get()
    assert delivery.state == "pending" and delivery.claim_token == ""


def test_the_fast_path_delivers_on_commit_through_celery(actor: Actor, empresa, receiver,
                                                         django_capture_on_commit_callbacks,
                                                         monkeypatch) -> None:
    import webhooks.tasks  # noqa: F401 - registers the task, so eager mode runs it here

    monkeypatch.setattr(dispatch, "_celery_enqueue", CELERY_ENQUEUE)
    create_endpoint(actor, receiver.url())
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            publish_note(make_note(empresa))
    finally:
        celery_app.conf.task_always_eager = False
    assert Delivery.objects.get().state == "succeeded"
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_a_hanging_endpoint_does_not_delay_other_tenants(make_empresa, make_receiver,
                                                         settings, monkeypatch) -> None:
    """Three workers, a cap of two per endpoint: the hanging endpoint holds two workers at
    most, and the other tenant's deliveries all go out through the third meanwhile."""
    from tests.conftest import make_actor

    if connection.vendor != "postgresql":
        pytest.skip("worker threads need a server database (SQLite's test db is in memory)")
    settings.FG_WEBHOOKS_MAX_IN_FLIGHT = 2
    settings.FG_WEBHOOKS_TIMEOUT = 30

    def work(delivery_id: int, token: str) -> None:
        try:
            delivery_attempt(delivery_id=delivery_id, claim_token=token)
        finally:
            connection.close()

    pool = ThreadPoolExecutor(max_workers=3)
    # The on-commit fast path and the dispatcher both hand work to these three "workers".
    monkeypatch.setattr(dispatch, "_celery_enqueue",
                        lambda i, t: pool.submit(work, i, t) and None)
    hanging, healthy = make_receiver(), make_receiver()
    hanging.default = Reply(hang=30)
    slow_tenant, fast_tenant = make_actor("Slow SaaS"), make_actor("Fast SaaS")
    create_endpoint(slow_tenant, hanging.url())
    create_endpoint(fast_tenant, healthy.url())
    slow_empresa = make_empresa(slow_tenant.tenant)
    fast_empresa = make_empresa(fast_tenant.tenant)
    for _ in range(6):
        publish_note(make_note(slow_empresa))
    for _ in range(5):
        publish_note(make_note(fast_empresa))

    try:
        deadline = time.monotonic() + 28  # under the 30 s hang: a loaded CI box needs the room
        while time.monotonic() < deadline:
            dispatch_due()
            if len(healthy.requests) == 5 and Delivery.objects.filter(
                endpoint__tenant=fast_tenant.tenant, state="succeeded"
            ).count() == 5:
                break
            time.sleep(0.05)
        assert len(healthy.requests) == 5
        assert len(hanging.requests) == 2  # never more than the cap at once
    finally:
        hanging.release.set()
        pool.shutdown(wait=True)


def test_a_healthy_endpoint_drains_its_backlog_without_waiting_for_the_dispatcher(
    actor: Actor, empresa, receiver, settings, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    settings.FG_WEBHOOKS_MAX_IN_FLIGHT = 1
    endpoint, _ = create_endpoint(actor, receiver.url())
    endpoint_disable(endpoint=endpoint, reason="maintenance", notify=False)
    for _ in range(5):
        publish_note(make_note(empresa))
    monkeypatch.setattr(dispatch, "_celery_enqueue", CELERY_ENQUEUE)
    celery_app.conf.task_always_eager = True
    try:
        # Re-enabling claims one (the cap); each success hands its slot to the next.
        with django_capture_on_commit_callbacks(execute=True):
            endpoint_enable(endpoint=endpoint)
    finally:
        celery_app.conf.task_always_eager = False
    assert set(Delivery.objects.values_list("state", flat=True)) == {"succeeded"}
    assert len(receiver.requests) == 5
