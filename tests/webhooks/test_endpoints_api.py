from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from standardwebhooks import Webhook

from tests.conftest import Actor
from tests.webhooks.conftest import create_endpoint, run_due
from webhooks.models import Delivery, Endpoint, Event


def test_create_shows_the_secret_once_then_masked(actor: Actor, other: Actor, receiver) -> None:
    response = actor.client.post("/api/v1/webhook-endpoints", {
        "url": receiver.url(), "event_types": ["note.authorized", "note.cancelled"],
        "doc_types": ["nfe"], "description": "ERP",
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["note.authorized", "note.cancelled"]
    assert body["environment"] == "homologacao" and body["format"] == "event"
    endpoint = Endpoint.objects.get(pk=body["id"])
    assert endpoint.tenant == actor.tenant and endpoint.secret == body["secret"]

    shown = actor.client.get(f"/api/v1/webhook-endpoints/{body['id']}").json()
    assert shown["secret"] == "••••" + body["secret"][-4:]
    assert other.client.get(f"/api/v1/webhook-endpoints/{body['id']}").status_code == 404
    assert other.client.get("/api/v1/webhook-endpoints").json()["results"] == []


@pytest.mark.parametrize("payload,field", [
    ({"url": "not a url"}, "url"),
    ({"url": "http://127.0.0.1/x", "event_types": ["note.exploded"]}, "event_types.0"),
    ({"url": "http://127.0.0.1/x", "doc_types": ["cte"]}, "doc_types.0"),
    ({"url": "http://127.0.0.1/x", "format": "xml"}, "format"),
    ({"url": "http://127.0.0.1/x", "secret": "whsec_abc"}, "secret"),  # unknown field
    ({"url": "http://127.0.0.1/x", "authorization_header": "Host"}, "authorization_header"),
])
def test_invalid_endpoint_input_names_the_field(actor: Actor, payload: dict, field: str) -> None:
    response = actor.client.post("/api/v1/webhook-endpoints", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"], response.json()
    assert not Endpoint.objects.exists()


def test_the_company_filter_must_be_the_tenants_own(actor: Actor, other: Actor, make_empresa,
                                                    receiver) -> None:
    theirs = make_empresa(other.tenant)
    response = actor.client.post("/api/v1/webhook-endpoints",
                                 {"url": receiver.url(), "empresa_id": theirs.pk}, format="json")
    assert response.status_code == 404
    mine = make_empresa(actor.tenant)
    response = actor.client.post("/api/v1/webhook-endpoints",
                                 {"url": receiver.url(), "empresa_id": mine.pk}, format="json")
    assert response.status_code == 201 and response.json()["empresa_id"] == mine.pk


def test_update_and_delete(actor: Actor, other: Actor, receiver) -> None:
    endpoint, _ = create_endpoint(actor, receiver.url())
    url = f"/api/v1/webhook-endpoints/{endpoint.pk}"
    assert other.client.patch(url, {"description": "x"}, format="json").status_code == 404
    assert other.client.delete(url).status_code == 404
    response = actor.client.patch(url, {"description": "new", "event_types": ["note.denied"]},
                                  format="json")
    assert response.status_code == 200
    assert response.json()["event_types"] == ["note.denied"]
    assert actor.client.delete(url).status_code == 204
    assert actor.client.get(url).status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.deleted_at is not None and endpoint.is_active is False


def test_send_a_test_event(actor: Actor, other: Actor, receiver) -> None:
    endpoint, secret = create_endpoint(actor, receiver.url())
    assert other.client.post(f"/api/v1/webhook-endpoints/{endpoint.pk}/test").status_code == 404
    response = actor.client.post(f"/api/v1/webhook-endpoints/{endpoint.pk}/test")
    assert response.status_code == 202
    assert run_due() == ["succeeded"]
    payload = Webhook(secret).verify(receiver.requests[0].body, receiver.requests[0].headers)
    assert payload["type"] == "webhook.test" and payload["sequence"] is None
    # Test events stay out of the feed.
    assert actor.client.get("/api/v1/events").json()["results"] == []


def test_rotate_the_secret(actor: Actor, other: Actor, receiver) -> None:
    endpoint, old = create_endpoint(actor, receiver.url())
    url = f"/api/v1/webhook-endpoints/{endpoint.pk}/rotate-secret"
    assert other.client.post(url).status_code == 404
    response = actor.client.post(url)
    assert response.status_code == 200
    new = response.json()["secret"]
    assert new.startswith("whsec_") and new != old
    assert response.json()["previous_secret_expires_at"] is not None
    actor.client.post(f"/api/v1/webhook-endpoints/{endpoint.pk}/test")
    run_due()
    request = receiver.requests[0]
    Webhook(old).verify(request.body, request.headers)
    Webhook(new).verify(request.body, request.headers)


def test_disable_and_enable(actor: Actor, other: Actor, receiver) -> None:
    endpoint, _ = create_endpoint(actor, receiver.url())
    base = f"/api/v1/webhook-endpoints/{endpoint.pk}"
    assert other.client.post(f"{base}/disable").status_code == 404
    assert actor.client.post(f"{base}/disable").json()["is_active"] is False
    actor.client.post(f"{base}/test")
    assert run_due() == []
    assert other.client.post(f"{base}/enable").status_code == 404
    enabled = actor.client.post(f"{base}/enable").json()
    assert enabled["is_active"] is True and enabled["disabled_reason"] == ""
    assert run_due() == ["succeeded"]
    # A tenant's own switch-off is not announced as an event.
    assert not Event.objects.filter(type="webhook_endpoint.disabled").exists()


def test_listing_endpoints_costs_a_constant_number_of_queries(actor: Actor, other: Actor,
                                                              receiver) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = actor.client.get("/api/v1/webhook-endpoints")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    count()  # the key's last_used_at is written on first use: not what is measured
    for _ in range(2):
        create_endpoint(actor, receiver.url())
    two = count()
    for _ in range(18):
        create_endpoint(actor, receiver.url())
    assert count() == two
    assert len(actor.client.get("/api/v1/webhook-endpoints").json()["results"]) == 20
    assert Delivery.objects.count() == 0
