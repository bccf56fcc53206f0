from __future__ import annotations

from tests.conftest import Actor


def test_unknown_native_route_method_is_in_the_error_shape(actor: Actor) -> None:
    response = actor.client.delete("/api/v1/empresas")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_not_found_detail_is_in_the_error_shape(actor: Actor) -> None:
    response = actor.client.get("/api/v1/empresas/424242")
    assert response.status_code == 404
    assert set(response.json()) == {"code", "message", "fields"}
