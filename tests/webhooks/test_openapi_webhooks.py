"""The OpenAPI document describes the outgoing webhooks: one per event type, and the bodies
really delivered to a receiver over HTTP validate against them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from django.test import Client
from django.utils import timezone

from fiscal.changes import ChangeType
from tenants.models import Empresa
from tests.conftest import Actor
from tests.webhooks.conftest import Receiver, create_endpoint, make_note, publish_note, run_due
from webhooks.certificates import certificate_notices_publish
from webhooks.endpoints import endpoint_disable, endpoint_send_test
from webhooks.events import note_resend
from webhooks.models import EventType


@pytest.fixture
def schema(db) -> dict:  # type: ignore[no-untyped-def]
    response = Client().get("/api/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def _validate(schema: dict, event_type: str, body: Any) -> None:
    request = schema["webhooks"][event_type]["post"]["requestBody"]
    target = request["content"]["application/json"]["schema"]
    # OpenAPI 3.1 schemas are JSON Schema 2020-12; the components ride along for the $refs.
    jsonschema.Draft202012Validator(
        {**target, "components": schema["components"]},
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    ).validate(body)


def test_the_document_is_openapi_3_1_with_one_webhook_per_event_type(schema: dict) -> None:
    assert schema["openapi"].startswith("3.1.")
    assert set(schema["webhooks"]) == set(EventType.values)
    for event_type, item in schema["webhooks"].items():
        body = item["post"]["requestBody"]["content"]["application/json"]["schema"]
        name = body["$ref"].rsplit("/", 1)[-1]
        component = schema["components"]["schemas"][name]
        assert component["properties"]["type"]["enum"] == [event_type]


def test_delivered_bodies_validate_against_their_webhook(
        schema: dict, actor: Actor, empresa, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    endpoint, _secret = create_endpoint(actor, receiver.url())
    note = make_note(empresa)
    publish_note(note, ChangeType.NOTE_AUTHORIZED)
    publish_note(note, ChangeType.NOTE_STUCK)
    note_resend(tenant=actor.tenant, note=note)
    endpoint_send_test(endpoint=endpoint)
    assert run_due() == ["succeeded"] * 4

    bodies = [request.json() for request in receiver.requests]
    assert [body["type"] for body in bodies] == [
        "note.authorized", "note.stuck", "note.resent", "webhook.test"]
    for body in bodies:
        _validate(schema, body["type"], body)


def test_the_endpoint_disabled_body_validates(
        schema: dict, actor: Actor, make_receiver) -> None:  # type: ignore[no-untyped-def]
    failing, watching = make_receiver(), make_receiver()
    endpoint, _ = create_endpoint(actor, failing.url())
    create_endpoint(actor, watching.url())
    assert endpoint_disable(endpoint=endpoint, reason="kept failing")
    assert run_due() == ["succeeded"]
    [request] = watching.requests
    body = request.json()
    assert body["type"] == "webhook_endpoint.disabled"
    _validate(schema, body["type"], body)


def test_the_certificate_notice_bodies_validate(
        schema: dict, actor: Actor, empresa, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    create_endpoint(actor, receiver.url())
    Empresa.objects.filter(pk=empresa.pk).update(
        certificado_valido_ate=timezone.now() + timedelta(days=5))
    assert certificate_notices_publish() == 1
    Empresa.objects.filter(pk=empresa.pk).update(
        certificado_valido_ate=timezone.now() - timedelta(days=1))
    assert certificate_notices_publish() == 1
    assert run_due() == ["succeeded"] * 2
    bodies = [request.json() for request in receiver.requests]
    assert [body["type"] for body in bodies] == [
        "empresa.certificate_expiring", "empresa.certificate_expired"]
    for body in bodies:
        _validate(schema, body["type"], body)


def test_a_body_that_breaks_the_description_is_refused(schema: dict) -> None:
    # The check has teeth: a note event without its status, or of another type, fails.
    body = {"id": "evt_1", "type": "note.authorized", "sequence": 1,
            "created_at": "2026-01-01T00:00:00+00:00", "environment": "homologacao",
            "doc_type": "nfe", "note_id": 1, "data": {"ref": "a"}}
    with pytest.raises(jsonschema.ValidationError):
        _validate(schema, "note.authorized", body)
    with pytest.raises(jsonschema.ValidationError):
        _validate(schema, "note.rejected", {**body, "data": {"ref": "a", "status": "autorizado"}})
