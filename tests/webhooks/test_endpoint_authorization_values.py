"""The static ``authorization`` value of Focus-format endpoints becomes a request header at
every delivery: a value that cannot be one (CR/LF would inject headers; NUL and other controls
make every delivery fail) is refused when written, with a 400 in each API's shape and nothing
written. A value stored before this check fails as a recorded attempt, never as a stuck one.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.conftest import VALID_CNPJ, Actor
from tests.webhooks.conftest import create_endpoint, make_note, publish_note, run_due
from webhooks.models import Attempt, Delivery, Endpoint

BAD_VALUES = {
    "crlf header injection": "segredo\r\nX-Injected: 1",
    "bare lf": "segredo\nmais",
    "bare cr": "segredo\rmais",
    "nul": "segredo\x00mais",
    "escape": "segredo\x1b[2J",
    "tab": "segredo\tmais",
    "del": "segredo\x7fmais",
    "c1 control": "segredo\x85mais",
    "non-ascii": "segredo-ação",
}
IDS = list(BAD_VALUES)
# NUL never reaches the endpoint rules: the JSON parser refuses it anywhere in a body, in the
# API's shape but without naming a field.
REFUSED_BY_THE_PARSER = {"nul"}


@pytest.mark.parametrize("name", IDS, ids=IDS)
def test_native_create_refuses_the_value_in_the_native_shape(actor: Actor, name: str,
                                                             receiver) -> None:
    response = actor.client.post("/api/v1/webhook-endpoints", {
        "url": receiver.url(), "format": "focus", "authorization": BAD_VALUES[name],
        "authorization_header": "X-ApiKey",
    }, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    if name not in REFUSED_BY_THE_PARSER:
        assert body["code"] == "validation_error" and "authorization" in body["fields"]
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize("name", IDS, ids=IDS)
def test_native_update_refuses_the_value_and_keeps_the_old_one(actor: Actor, other: Actor,
                                                               name: str, receiver) -> None:
    endpoint, _ = create_endpoint(actor, receiver.url(), format="focus",
                                  authorization="segredo-antigo-123")
    url = f"/api/v1/webhook-endpoints/{endpoint.pk}"
    assert other.client.patch(url, {"authorization": BAD_VALUES[name]},
                              format="json").status_code == 404
    response = actor.client.patch(url, {"authorization": BAD_VALUES[name]}, format="json")
    assert response.status_code == 400, response.content
    if name not in REFUSED_BY_THE_PARSER:
        assert "authorization" in response.json()["fields"]
    endpoint.refresh_from_db()
    assert endpoint.authorization == "segredo-antigo-123"


@pytest.mark.parametrize("name", IDS, ids=IDS)
def test_facade_hook_creation_refuses_the_value_in_focus_shape(actor: Actor, empresa, name: str,
                                                               receiver) -> None:
    response = actor.client.post("/v2/hooks", {
        "cnpj": VALID_CNPJ, "event": "nfe", "url": receiver.url(),
        "authorization": BAD_VALUES[name], "authorization_header": "X-ApiKey",
    }, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["codigo"] == "requisicao_invalida" and "code" not in body
    if name not in REFUSED_BY_THE_PARSER:
        assert "authorization" in body["mensagem"]
    assert not Endpoint.objects.exists()


def test_a_printable_value_is_accepted_and_sent_as_the_header(actor: Actor, empresa,
                                                              receiver) -> None:
    value = "Bearer abc-123_=/+.~ !x"
    response = actor.client.post("/v2/hooks", {
        "cnpj": VALID_CNPJ, "event": "nfe", "url": receiver.url(),
        "authorization": value, "authorization_header": "X-ApiKey",
    }, format="json")
    assert response.status_code == 200, response.content
    publish_note(make_note(empresa))
    assert run_due() == ["succeeded"]
    assert receiver.requests[0].headers["x-apikey"] == value


def test_a_value_stored_before_the_check_is_a_recorded_failure(actor: Actor, empresa,
                                                               receiver) -> None:
    endpoint, _ = create_endpoint(actor, receiver.url(), format="focus")
    # Written around the service (as older rows were): the delivery must not get stuck.
    Endpoint.objects.filter(pk=endpoint.pk).update(authorization="old\r\nX-Injected: 1")
    publish_note(make_note(empresa))
    when = timezone.now()
    assert run_due(when) == ["retry"]
    attempt = Attempt.objects.get()
    assert attempt.status_code is None and attempt.error
    delivery = Delivery.objects.get()
    assert delivery.state == "pending" and delivery.attempts == 1 and delivery.claim_token == ""
    endpoint.refresh_from_db()
    assert endpoint.failing_since == when
    assert receiver.requests == []  # the injected header never left
