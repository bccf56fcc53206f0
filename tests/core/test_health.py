from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client


@pytest.fixture
def staff_client(db: None) -> Client:
    """readyz gives the failure detail to staff only (the world gets the verdict)."""
    user = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    client = Client()
    client.force_login(user)
    return client


def test_healthz_answers_without_touching_dependencies(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_each_dependency(db: None, client) -> None:
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["ready"] is True
    assert set(body["checks"]) == {"database", "broker", "storage"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.parametrize("broker", ["redis://127.0.0.1:1/0", "amqp://guest@127.0.0.1:1//"])
def test_readyz_reports_a_dead_broker(db: None, staff_client, settings, broker: str) -> None:
    settings.CELERY_BROKER_URL = broker
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    settings.FG_READYZ_TIMEOUT = 0.5
    response = staff_client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["ok"] is False
    assert checks["broker"]["error"]
    assert checks["database"]["ok"] is True


def test_readyz_reports_an_unwritable_archive(db: None, client, settings, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the archive directory should be")
    settings.FG_STORAGE_BACKEND = "filesystem"
    settings.FG_ARCHIVE_DIR = blocker / "archive"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"]["ok"] is False


def test_readyz_reports_an_unreachable_s3(db: None, staff_client, settings) -> None:
    settings.FG_STORAGE_BACKEND = "s3"
    settings.FG_S3_BUCKET = "archive"
    settings.FG_S3_ENDPOINT_URL = "http://127.0.0.1:1"
    settings.FG_READYZ_TIMEOUT = 0.5
    response = staff_client.get("/readyz")
    assert response.status_code == 503
    assert "archive" in response.json()["checks"]["storage"]["error"]


def failing_check() -> str:
    raise RuntimeError("the ledger service is down")


def test_readyz_asks_the_checks_named_in_settings(db: None, staff_client, settings) -> None:
    """An app above core brings its own check by name; core imports none of them."""
    settings.FG_READINESS_CHECKS = {**settings.FG_READINESS_CHECKS,
                                    "ledger": "tests.core.test_health.failing_check"}
    response = staff_client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["ledger"] == {"ok": False, "status": "failing",
                                "error": "RuntimeError: the ledger service is down",
                                "ms": checks["ledger"]["ms"]}
    assert checks["database"]["ok"] and checks["storage"]["ok"]
