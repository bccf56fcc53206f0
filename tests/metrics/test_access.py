"""Who may read /metrics: the token in services mode, loopback in the embedded mode."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-0123456789"


def get(remote: str = "127.0.0.1", authorization: str | None = None):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    return Client().get("/metrics", REMOTE_ADDR=remote, **headers)


@pytest.fixture
def services_mode(settings) -> None:
    settings.SERVICES_MODE = True
    settings.FG_METRICS_TOKEN = TOKEN


def test_services_mode_refuses_a_scrape_without_the_token(services_mode) -> None:
    response = get()
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"fg_" not in response.content


@pytest.mark.parametrize("authorization", [
    f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ", f"Basic {TOKEN}", TOKEN,
])
def test_services_mode_refuses_a_wrong_token(services_mode, authorization: str) -> None:
    response = get(authorization=authorization)
    assert response.status_code == 401
    assert b"fg_" not in response.content


def test_services_mode_answers_the_right_token_from_anywhere(services_mode) -> None:
    response = get(remote="203.0.113.9", authorization=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert b"fg_pending_notes" in response.content


def test_services_mode_loopback_is_not_enough(services_mode) -> None:
    assert get(remote="127.0.0.1").status_code == 401
    assert get(remote="::1").status_code == 401


def test_services_mode_without_a_configured_token_has_no_metrics_route(settings) -> None:
    settings.SERVICES_MODE = True
    settings.FG_METRICS_TOKEN = ""
    assert get().status_code == 404
    # An empty bearer must never match an empty token.
    assert get(authorization="Bearer ").status_code == 404


def test_embedded_mode_is_open_on_loopback(settings) -> None:
    settings.SERVICES_MODE = False
    settings.FG_METRICS_TOKEN = ""
    for remote in ("127.0.0.1", "127.8.9.10", "::1"):
        response = get(remote=remote)
        assert response.status_code == 200, remote
        assert b"fg_pending_notes" in response.content


def test_embedded_mode_refuses_other_callers(settings) -> None:
    settings.SERVICES_MODE = False
    settings.FG_METRICS_TOKEN = ""
    assert get(remote="192.168.1.20").status_code == 404
    settings.FG_METRICS_TOKEN = TOKEN
    assert get(remote="192.168.1.20").status_code == 401
    assert get(remote="192.168.1.20", authorization=f"Bearer {TOKEN}").status_code == 200


def test_only_get(settings) -> None:
    settings.SERVICES_MODE = False
    assert Client().post("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 405


def test_the_workers_exporter_follows_the_same_rule(services_mode, settings) -> None:
    import httpx

    from metrics import exporter, instruments

    instruments.webhook_deliveries.labels("succeeded").inc()
    server = exporter.start(host="127.0.0.1", port=0)
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        assert httpx.get(url, timeout=5).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer nope"}, timeout=5
                         ).status_code == 401
        answer = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert answer.status_code == 200
        assert 'fg_webhook_deliveries_total{outcome="succeeded"}' in answer.text
        # Counters only: the gauges (database, broker) are the web's.
        assert "fg_pending_notes" not in answer.text
        settings.FG_METRICS_TOKEN = ""
        assert httpx.get(url, timeout=5).status_code == 404
    finally:
        server.shutdown()
        server.server_close()
