"""What must not leak: a key sent as ?token= never comes back in a link or a page the gateway
builds, and /readyz tells the world only its verdict."""

from __future__ import annotations

import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import Actor, make_actor

HTML = {"HTTP_ACCEPT": "text/html"}

# Every list endpoint that pages with a cursor, each with enough rows for a next page.
LISTS = ["/api/v1/empresas", "/api/v1/api-keys"]


@pytest.fixture
def many(actor: Actor, make_empresa) -> Actor:  # type: ignore[no-untyped-def]
    from tenants.services import api_key_create

    for n in range(3):
        make_empresa(actor.tenant, cnpj=None, cpf=["52998224725", "11144477735",
                                                   "12345678909"][n])
        api_key_create(tenant=actor.tenant, environment="homologacao", name=f"k{n}")
    return actor


def assert_no_key(content: bytes, raw: str) -> None:
    text = content.decode()
    assert raw not in text
    assert "token=" not in text, re.findall(r".{40}token=.{40}", text)


@pytest.mark.parametrize("path", LISTS)
def test_next_and_previous_links_drop_the_token(many: Actor, other: Actor, path: str) -> None:
    client = Client()
    first = client.get(f"{path}?limit=1&token={many.key.raw}")
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["next"] and "cursor=" in body["next"] and "limit=1" in body["next"]
    assert_no_key(first.content, many.key.raw)
    # the link still works, with the key sent properly this time
    second = many.client.get(body["next"])
    assert second.status_code == 200 and second.json()["previous"]
    # and following it with ?token= again leaks nothing either
    third = client.get(f"{body['next']}&token={many.key.raw}")
    assert third.json()["previous"] and third.json()["next"]
    assert_no_key(third.content, many.key.raw)


@pytest.mark.parametrize("path", ["/api/v1/empresas?limit=1", "/api/v1/notes", "/v2/empresas",
                                  "/api/v1/empresas/999999", "/v2/nfe/nada"])
def test_the_browsable_api_never_shows_the_token(many: Actor, path: str) -> None:
    separator = "&" if "?" in path else "?"
    response = Client().get(f"{path}{separator}token={many.key.raw}&format=api", **HTML)
    assert response.status_code in (200, 404), response.content[:300]
    assert response["Content-Type"].startswith("text/html")
    assert_no_key(response.content, many.key.raw)


def test_the_key_in_an_event_feed_link_is_dropped(actor: Actor) -> None:
    response = Client().get(f"/api/v1/events?token={actor.key.raw}")
    assert response.status_code == 200
    assert_no_key(response.content, actor.key.raw)


# --- /readyz -----------------------------------------------------------------------------------

@pytest.fixture
def failing(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CELERY_BROKER_URL = "redis://10.255.255.1:6399/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    settings.FG_READYZ_TIMEOUT = 0.3
    settings.FG_STORAGE_BACKEND = "s3"
    settings.FG_S3_BUCKET = "internal-archive-bucket"
    settings.FG_S3_ENDPOINT_URL = "http://127.0.0.1:1"


def test_readyz_tells_the_world_only_the_verdict(db: None, failing: None, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING, logger="core.health"):
        response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body == {"ready": False, "checks": {
        "database": {"ok": True, "status": "ok"},
        "broker": {"ok": False, "status": "failing"},
        "storage": {"ok": False, "status": "failing"},
    }}
    for secret in (b"10.255.255.1", b"6399", b"internal-archive-bucket", b"127.0.0.1",
                   b"postgresql", b"redis", b"Error"):
        assert secret not in response.content
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "core.health")
    assert "broker failing" in logged and "storage failing" in logged
    assert "internal-archive-bucket" in logged


def test_readyz_gives_the_detail_to_staff(db: None, failing: None) -> None:
    staff = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    client = Client()
    client.force_login(staff)
    checks = client.get("/readyz").json()["checks"]
    assert checks["database"]["backend"] == "postgresql"
    assert checks["broker"]["error"] and "ms" in checks["broker"]
    assert "internal-archive-bucket" in checks["storage"]["error"]


@pytest.mark.parametrize("who", ["not_staff", "api_key"])
def test_readyz_detail_is_not_for_other_users_or_api_keys(db: None, failing: None,  # type: ignore[no-untyped-def]
                                                          who: str) -> None:
    client = Client()
    if who == "not_staff":
        client.force_login(get_user_model().objects.create_user("joe", password="x"))
        response = client.get("/readyz")
    else:
        key = make_actor("Probe SaaS").key.raw
        response = client.get(f"/readyz?token={key}")
    assert set(response.json()["checks"]["broker"]) == {"ok", "status"}
