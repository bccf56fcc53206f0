from __future__ import annotations

import hashlib
from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from tenants.models import ApiKey, Environment
from tenants.services import api_key_authenticate, api_key_create, api_key_revoke
from tests.conftest import Actor, basic, live_client, make_actor


def test_only_a_hash_of_the_key_is_stored(actor: Actor) -> None:
    row = ApiKey.objects.get(pk=actor.key.api_key.pk)
    raw = actor.key.raw
    assert raw.startswith("fg_test_")
    assert row.secret_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = [str(v) for v in ApiKey.objects.filter(pk=row.pk).values().first().values()]
    assert not any(raw[8:] in value for value in stored)  # the secret part is nowhere


def test_key_environment_follows_its_prefix(db: None) -> None:
    live = make_actor("Live", environment=Environment.PRODUCAO)
    assert live.key.raw.startswith("fg_live_")
    assert api_key_authenticate(raw=live.key.raw).environment == Environment.PRODUCAO
    # the same body with the other prefix is not the same key
    assert api_key_authenticate(raw="fg_test_" + live.key.raw[8:]) is None


def test_wrong_secret_with_a_real_public_id_is_refused(actor: Actor) -> None:
    raw = actor.key.raw
    tampered = raw[:-1] + ("a" if raw[-1] != "a" else "b")
    assert api_key_authenticate(raw=tampered) is None
    assert api_key_authenticate(raw=raw) is not None


def test_revoked_key_stops_working_and_keeps_its_first_revocation(actor: Actor) -> None:
    assert actor.client.get("/api/v1/empresas").status_code == 200
    api_key_revoke(api_key=actor.key.api_key)
    first = ApiKey.objects.get(pk=actor.key.api_key.pk).revoked_at
    api_key_revoke(api_key=actor.key.api_key)
    assert ApiKey.objects.get(pk=actor.key.api_key.pk).revoked_at == first
    response = actor.client.get("/api/v1/empresas")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_last_used_at_is_recorded_at_most_once_a_minute(actor: Actor) -> None:
    assert ApiKey.objects.get(pk=actor.key.api_key.pk).last_used_at is None
    actor.client.get("/api/v1/empresas")
    first = ApiKey.objects.get(pk=actor.key.api_key.pk).last_used_at
    assert first is not None
    actor.client.get("/api/v1/empresas")
    assert ApiKey.objects.get(pk=actor.key.api_key.pk).last_used_at == first
    ApiKey.objects.filter(pk=actor.key.api_key.pk).update(
        last_used_at=timezone.now() - timedelta(minutes=5)
    )
    actor.client.get("/api/v1/empresas")
    assert ApiKey.objects.get(pk=actor.key.api_key.pk).last_used_at > first


def test_create_key_shows_the_secret_once(actor: Actor, other: Actor) -> None:
    response = actor.client.post(
        "/api/v1/api-keys", {"name": "ci", "environment": "homologacao"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    raw = body["key"]
    assert raw.startswith(body["prefix"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(raw))
    assert client.get("/api/v1/empresas").status_code == 200

    listing = actor.client.get("/api/v1/api-keys").json()
    assert {k["id"] for k in listing["results"]} == {actor.key.api_key.pk, body["id"]}
    assert "key" not in listing["results"][0]
    assert raw not in str(listing)
    # the other tenant sees only its own key
    other_ids = {k["id"] for k in other.client.get("/api/v1/api-keys").json()["results"]}
    assert other_ids == {other.key.api_key.pk}


def test_a_test_key_cannot_mint_live_keys(actor: Actor) -> None:
    response = actor.client.post("/api/v1/api-keys", {"environment": "producao"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert ApiKey.objects.filter(tenant=actor.tenant).count() == 1


def test_live_key_can_create_live_keys(db: None) -> None:
    live = make_actor("Live", environment=Environment.PRODUCAO)
    response = live.client.post("/api/v1/api-keys", {"environment": "producao"}, format="json")
    assert response.status_code == 201
    assert response.json()["key"].startswith("fg_live_")


def test_revoke_through_the_api_and_other_tenants_key_is_404(actor: Actor, other: Actor) -> None:
    spare = api_key_create(tenant=actor.tenant, environment=Environment.HOMOLOGACAO)
    response = other.client.post(f"/api/v1/api-keys/{spare.api_key.pk}/revoke")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert ApiKey.objects.get(pk=spare.api_key.pk).revoked_at is None

    response = actor.client.post(f"/api/v1/api-keys/{spare.api_key.pk}/revoke")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert api_key_authenticate(raw=spare.raw) is None


def test_unknown_field_and_bad_environment_are_refused(actor: Actor) -> None:
    response = actor.client.post(
        "/api/v1/api-keys", {"environment": "staging", "scope": "all"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert "scope" in body["fields"]
    assert ApiKey.objects.filter(tenant=actor.tenant).count() == 1


def test_inactive_tenant_keys_do_not_authenticate(actor: Actor) -> None:
    actor.tenant.is_active = False
    actor.tenant.save()
    assert actor.client.get("/api/v1/empresas").status_code == 401


def test_focus_account_token_is_answered_masked(actor: Actor) -> None:
    live = live_client(actor.tenant)
    assert live.get("/api/v1/focus-account").json() == {"configured": False, "token": ""}
    set_ = live.put("/api/v1/focus-account", {"token": "acct-token-secret-9876"}, format="json")
    assert set_.json() == {"configured": True, "token": "••••9876"}
    assert actor.client.get("/api/v1/focus-account").json()["token"] == "••••9876"
    cleared = live.put("/api/v1/focus-account", {"token": ""}, format="json")
    assert cleared.json()["configured"] is False
