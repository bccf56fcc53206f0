"""The staff console against the sandbox (Focus) and a real receiver (webhooks)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.fiscal.conftest import empresa, upstream  # noqa: F401 (fixtures)
from tests.webhooks.conftest import enqueued, receiver, webhook_settings  # noqa: F401

STAFF_NAME = "ops-alice"
STAFF_PASSWORD = "pw-for-tests-only-4242"


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser(STAFF_NAME, "alice@example.com",
                                                      STAFF_PASSWORD)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client
