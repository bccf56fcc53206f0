from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from fiscal.render import note_consulta
from tests.conftest import Actor
from tests.support.file_links import comparable
from tests.webhooks.conftest import create_endpoint, make_note, publish_note, run_due
from webhooks.delivery import signed_headers
from webhooks.endpoints import endpoint_rotate_secret, generate_secret
from webhooks.models import Delivery


def test_every_delivery_verifies_with_the_standardwebhooks_library(actor: Actor, empresa,
                                                                   receiver) -> None:
    _, secret = create_endpoint(actor, receiver.url())
    assert secret.startswith("whsec_")
    note = make_note(empresa)
    publish_note(note)
    assert run_due() == ["succeeded"]

    request = receiver.requests[0]
    payload = Webhook(secret).verify(request.body, request.headers)
    delivery = Delivery.objects.get()
    assert request.headers["webhook-id"] == delivery.webhook_id
    assert request.headers["content-type"] == "application/json"
    assert payload["type"] == "note.authorized"
    assert payload["sequence"] == 1
    assert comparable(payload["data"]) == comparable(note_consulta(note))
    assert delivery.state == "succeeded" and delivery.last_status_code == 200


def test_a_tampered_body_or_a_wrong_secret_is_rejected(actor: Actor, empresa, receiver) -> None:
    _, secret = create_endpoint(actor, receiver.url())
    publish_note(make_note(empresa))
    run_due()
    request = receiver.requests[0]
    tampered = request.body.replace(b"autorizado", b"cancelado")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(request.body, request.headers)


def test_a_stale_timestamp_is_rejected(actor: Actor, empresa, receiver) -> None:
    endpoint, secret = create_endpoint(actor, receiver.url())
    body = '{"a":1}'
    headers = signed_headers(endpoint=endpoint, webhook_id="msg_x", body=body)
    assert Webhook(secret).verify(body, headers) == {"a": 1}
    # The same message re-signed ten minutes ago: the receiver's tolerance is five.
    old = timezone.now() - timedelta(minutes=10)
    stale = {**headers, "webhook-timestamp": str(int(old.timestamp())),
             "webhook-signature": Webhook(secret).sign("msg_x", old, body)}
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, stale)


def test_focus_format_posts_the_consulta_exactly_with_the_authorization_header(
    actor: Actor, empresa, receiver
) -> None:
    create_endpoint(actor, receiver.url(), format="focus", authorization="s3cr3t-token",
                    authorization_header="X-ApiKey")
    note = make_note(empresa)
    publish_note(note)
    run_due()
    request = receiver.requests[0]
    assert comparable(json.loads(request.body)) == comparable(note_consulta(note))
    assert request.headers["x-apikey"] == "s3cr3t-token"
    assert "webhook-signature" in request.headers  # signed too; Focus receivers ignore it


def test_during_a_rotation_both_secrets_sign_until_the_overlap_ends(actor: Actor, empresa,
                                                                    receiver, settings) -> None:
    settings.FG_WEBHOOKS_ROTATION_OVERLAP_HOURS = 2
    endpoint, old_secret = create_endpoint(actor, receiver.url())
    now = timezone.now()
    new_secret = endpoint_rotate_secret(endpoint=endpoint, now=now)
    assert new_secret != old_secret
    endpoint.refresh_from_db()
    assert endpoint.secret == new_secret

    publish_note(make_note(empresa))
    run_due(now + timedelta(hours=1))
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(old_secret).verify(request.body, request.headers)
    Webhook(new_secret).verify(request.body, request.headers)

    publish_note(make_note(empresa))
    run_due(now + timedelta(hours=3))
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    Webhook(new_secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(request.body, request.headers)


def test_the_secret_is_encrypted_at_rest(actor: Actor, receiver) -> None:
    from django.db import connection

    endpoint, secret = create_endpoint(actor, receiver.url(), authorization="static-value")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret, \"authorization\" FROM webhooks_endpoint WHERE id = %s",
                       [endpoint.pk])
        stored_secret, stored_authorization = cursor.fetchone()
    assert secret not in stored_secret and "static-value" not in stored_authorization
    endpoint.refresh_from_db()
    assert endpoint.secret == secret
