from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import Actor
from tests.webhooks.conftest import create_endpoint, make_note, publish_note, run_due
from webhooks.models import Delivery


@pytest.fixture
def staff_client(db, client):
    user = get_user_model().objects.create_superuser("staff", "s@example.com", "pw-12345678")
    client.force_login(user)
    return client


def test_admin_pages_mask_the_secret_and_replay_deliveries(staff_client, actor: Actor, empresa,
                                                           receiver) -> None:
    endpoint, secret = create_endpoint(actor, receiver.url())
    publish_note(make_note(empresa))
    assert run_due() == ["succeeded"]
    delivery = Delivery.objects.get()

    for url in ("/admin/webhooks/endpoint/", f"/admin/webhooks/endpoint/{endpoint.pk}/change/",
                "/admin/webhooks/event/", "/admin/webhooks/delivery/",
                f"/admin/webhooks/delivery/{delivery.pk}/change/"):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert secret not in response.content.decode()
    assert b"200" in staff_client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/").content

    staff_client.post("/admin/webhooks/delivery/", {
        "action": "replay", "_selected_action": [delivery.pk],
    })
    delivery.refresh_from_db()
    assert delivery.state == "pending"
    assert run_due() == ["succeeded"]
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery.webhook_id] * 2
