from __future__ import annotations

from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from tenants.models import Empresa
from tests.conftest import Actor, live_client


def _raw_tokens(pk: int) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT token_homologacao, token_producao FROM tenants_empresa WHERE id = %s", [pk]
        )
        return cursor.fetchone()


def test_focus_tokens_are_encrypted_in_the_row(actor: Actor, make_empresa) -> None:
    empresa = make_empresa(actor.tenant)
    homolog, prod = _raw_tokens(empresa.pk)
    assert "focus-homolog-token-123456" not in homolog
    assert "focus-prod-token-abcdef" not in prod
    assert homolog.startswith("gAAAA")  # Fernet tokens
    reloaded = Empresa.objects.get(pk=empresa.pk)
    assert reloaded.token_homologacao == "focus-homolog-token-123456"
    assert reloaded.focus_token("producao") == "focus-prod-token-abcdef"


def test_api_answers_show_tokens_masked(actor: Actor, empresa_payload) -> None:
    # Each environment's key sets its own Focus token (tests/test_environment_isolation.py).
    response = actor.client.post("/api/v1/empresas", empresa_payload(token_producao=None),
                                 format="json")
    assert response.status_code == 201
    live = live_client(actor.tenant)
    response = live.patch(f"/api/v1/empresas/{response.json()['id']}",
                          {"token_producao": "focus-prod-token-abcdef"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["token_homologacao"] == "••••3456"
    assert body["token_producao"] == "••••cdef"
    listing = actor.client.get("/api/v1/empresas").content.decode()
    assert "focus-homolog-token-123456" not in listing
    facade = actor.client.get(f"/v2/empresas/{body['id']}").content.decode()
    assert "focus-prod-token-abcdef" not in facade


def test_rotation_reencrypts_every_row_under_the_newest_key(actor: Actor, make_empresa,
                                                            settings) -> None:
    old_key = settings.FG_ENCRYPTION_KEYS[0]
    empresa = make_empresa(actor.tenant)
    before = _raw_tokens(empresa.pk)
    new_key = Fernet.generate_key().decode()
    with override_settings(FG_ENCRYPTION_KEYS=[new_key, old_key]):
        # both keys decrypt while the rotation runs
        assert Empresa.objects.get(pk=empresa.pk).token_producao == "focus-prod-token-abcdef"
        call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    after = _raw_tokens(empresa.pk)
    assert after[0] != before[0] and after[1] != before[1]
    assert Fernet(new_key.encode()).decrypt(after[1].encode()) == b"focus-prod-token-abcdef"
    with override_settings(FG_ENCRYPTION_KEYS=[new_key]):
        # the old key can now be dropped
        assert Empresa.objects.get(pk=empresa.pk).token_homologacao == "focus-homolog-token-123456"
