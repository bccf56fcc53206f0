from __future__ import annotations

import logging

import pytest
from rest_framework.test import APIClient

from core.logging import RedactSecretsFilter, redact
from tests.conftest import Actor, basic


@pytest.mark.parametrize("style", ["basic", "bearer", "query"])
def test_each_focus_auth_style_authenticates(actor: Actor, other: Actor, style: str,
                                             make_empresa) -> None:
    make_empresa(actor.tenant)
    make_empresa(other.tenant)
    client = APIClient()
    url = "/api/v1/empresas"
    if style == "basic":
        client.credentials(HTTP_AUTHORIZATION=basic(actor.key.raw))
    elif style == "bearer":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {actor.key.raw}")
    else:
        url += f"?token={actor.key.raw}"
    response = client.get(url)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1  # its own company, not the other tenant's

    facade = client.get("/v2/empresas" + ("" if style != "query" else f"?token={actor.key.raw}"))
    assert facade.status_code == 200
    assert len(facade.json()) == 1


@pytest.mark.parametrize(
    "header",
    [None, "Bearer fg_test_doesnotexistdoesnotexistdoesnotexist1234", "Basic !!!notbase64",
     basic("some-random-focus-token")],
)
def test_facade_refuses_missing_or_unknown_keys_in_focus_shape(
    db: None, header: str | None
) -> None:
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/v2/empresas")
    # Focus answers 403 permissao_negada for every token problem, missing ones included.
    assert response.status_code == 403
    body = response.json()
    assert body["codigo"] == "permissao_negada"
    assert body["mensagem"]
    assert "WWW-Authenticate" not in response


def test_native_api_answers_401_with_a_challenge_when_the_key_is_missing(db: None) -> None:
    response = APIClient().get("/api/v1/empresas")
    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "message": "Authentication credentials were not provided.",
        "fields": {},
    }
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_on_the_facade_is_permissao_negada(actor: Actor) -> None:
    actor.client.post(f"/api/v1/api-keys/{actor.key.api_key.pk}/revoke")
    response = actor.client.get("/v2/empresas")
    assert response.status_code == 403
    assert response.json()["codigo"] == "permissao_negada"


def test_secrets_are_redacted_from_log_lines(actor: Actor) -> None:
    raw = actor.key.raw
    line = redact(f'GET /v2/nfe/1?token={raw}&completa=1 Authorization: Basic Zm9vOg== key {raw}')
    assert raw not in line
    assert raw[8:] not in line
    assert "Zm9vOg==" not in line
    assert "completa=1" in line
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "called %s", (f"?token={raw}",),
                               None)
    RedactSecretsFilter().filter(record)
    assert raw not in record.getMessage()


def test_request_logs_do_not_carry_query_tokens(actor: Actor, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="django.request"):
        APIClient().get(f"/api/v1/empresas/999999?token={actor.key.raw}")
    assert actor.key.raw not in caplog.text
