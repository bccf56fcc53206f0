from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import Actor
from tests.webhooks.conftest import Reply, create_endpoint, make_note, publish_note, run_due
from webhooks.models import Delivery


def test_deliveries_and_attempts_are_visible(actor: Actor, other: Actor, empresa,
                                             receiver) -> None:
    receiver.reply(Reply(status=500, body=b"x" * 5000))
    endpoint, _ = create_endpoint(actor, receiver.url())
    publish_note(make_note(empresa))
    run_due()
    delivery = Delivery.objects.get()

    listed = actor.client.get("/api/v1/webhook-deliveries",
                              {"endpoint": endpoint.pk, "state": "pending"}).json()["results"]
    assert [d["id"] for d in listed] == [delivery.pk]
    assert listed[0]["event_type"] == "note.authorized" and listed[0]["attempts"] == 1
    assert listed[0]["last_status_code"] == 500
    detail = actor.client.get(f"/api/v1/webhook-deliveries/{delivery.pk}").json()
    assert detail["webhook_id"] == delivery.webhook_id
    attempts = actor.client.get(
        f"/api/v1/webhook-deliveries/{delivery.pk}/attempts"
    ).json()["results"]
    assert attempts[0]["status_code"] == 500 and attempts[0]["succeeded"] is False
    assert len(attempts[0]["response_body"]) == 2048  # truncated
    assert attempts[0]["duration_ms"] >= 0

    assert other.client.get("/api/v1/webhook-deliveries").json()["results"] == []
    assert other.client.get(f"/api/v1/webhook-deliveries/{delivery.pk}").status_code == 404
    assert other.client.get(
        f"/api/v1/webhook-deliveries/{delivery.pk}/attempts"
    ).status_code == 404


def test_replaying_a_delivery_keeps_its_webhook_id(actor: Actor, other: Actor, empresa,
                                                   receiver) -> None:
    create_endpoint(actor, receiver.url())
    publish_note(make_note(empresa))
    assert run_due() == ["succeeded"]
    delivery = Delivery.objects.get()
    url = f"/api/v1/webhook-deliveries/{delivery.pk}/replay"
    assert other.client.post(url).status_code == 404
    response = actor.client.post(url)
    assert response.status_code == 202 and response.json()["state"] == "pending"
    assert run_due() == ["succeeded"]
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids == [delivery.webhook_id, delivery.webhook_id]
    assert receiver.requests[0].body == receiver.requests[1].body


def test_replay_every_failed_delivery_of_an_endpoint_since_a_time(
    actor: Actor, other: Actor, empresa, receiver, settings
) -> None:
    settings.FG_WEBHOOKS_RETRY_SCHEDULE = []  # one attempt, then failed
    receiver.default = Reply(status=500)
    endpoint, _ = create_endpoint(actor, receiver.url())
    for _ in range(3):
        publish_note(make_note(empresa))
    assert run_due() == ["failed"] * 3
    old = Delivery.objects.order_by("id").first()
    Delivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))

    receiver.default = Reply(status=200)
    url = f"/api/v1/webhook-endpoints/{endpoint.pk}/replay-failed"
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert other.client.post(url, {"since": since}, format="json").status_code == 404
    response = actor.client.post(url, {"since": since}, format="json")
    assert response.json() == {"replayed": 2}
    assert run_due() == ["succeeded", "succeeded"]
    old.refresh_from_db()
    assert old.state == "failed"


def test_replay_every_event_of_a_note(actor: Actor, other: Actor, empresa, receiver) -> None:
    create_endpoint(actor, receiver.url("/a"))
    create_endpoint(actor, receiver.url("/b"))
    note = make_note(empresa)
    publish_note(note)
    publish_note(note, "note.cancelled")
    publish_note(make_note(empresa))  # another note: not replayed
    assert len(run_due()) == 6
    assert other.client.post("/api/v1/events/replay", {"note_id": note.pk},
                             format="json").status_code == 404
    response = actor.client.post("/api/v1/events/replay", {"note_id": note.pk}, format="json")
    assert response.status_code == 202 and response.json() == {"replayed": 4}
    assert run_due() == ["succeeded"] * 4
    replayed_ids = [r.headers["webhook-id"] for r in receiver.requests[6:]]
    note_ids = set(Delivery.objects.filter(event__note=note).values_list("webhook_id", flat=True))
    assert set(replayed_ids) == note_ids


def test_listing_deliveries_costs_a_constant_number_of_queries(actor: Actor, empresa,
                                                               receiver) -> None:
    create_endpoint(actor, receiver.url())

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = actor.client.get("/api/v1/webhook-deliveries")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    count()
    for _ in range(2):
        publish_note(make_note(empresa))
    two = count()
    for _ in range(18):
        publish_note(make_note(empresa))
    assert count() == two
