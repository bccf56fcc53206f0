from __future__ import annotations

import io
import re

from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

from tenants import services
from tenants.models import ApiKey, Empresa, Tenant
from tenants.services import api_key_authenticate
from tests.conftest import Actor


def _staff_client(client):
    User.objects.create_superuser("staff", "staff@example.com", "pw-for-tests-only")
    client.login(username="staff", password="pw-for-tests-only")
    return client


def test_admin_never_shows_plain_focus_tokens(actor: Actor, make_empresa, client) -> None:
    empresa = make_empresa(actor.tenant)
    staff = _staff_client(client)
    listing = staff.get("/admin/tenants/empresa/").content.decode()
    assert empresa.nome in listing
    assert "focus-prod-token-abcdef" not in listing
    assert "••••cdef" in listing
    change = staff.get(f"/admin/tenants/empresa/{empresa.pk}/change/").content.decode()
    assert "focus-prod-token-abcdef" not in change
    assert "focus-homolog-token-123456" not in change


def test_admin_masks_the_focus_account_token_and_keeps_it_when_left_empty(
        actor: Actor, client) -> None:
    services.tenant_set_focus_account_token(tenant=actor.tenant, token="acct-token-secret-9876")
    staff = _staff_client(client)
    listing = staff.get("/admin/tenants/tenant/").content.decode()
    assert "acct-token-secret-9876" not in listing
    assert "••••9876" in listing
    url = f"/admin/tenants/tenant/{actor.tenant.pk}/change/"
    assert "acct-token-secret-9876" not in staff.get(url).content.decode()
    saved = staff.post(url, {"name": "Renamed", "is_active": "on", "focus_account_token": ""})
    assert saved.status_code == 302
    actor.tenant.refresh_from_db()
    assert actor.tenant.name == "Renamed"
    assert actor.tenant.focus_account_token == "acct-token-secret-9876"
    # Encrypted at rest: the column holds ciphertext, not the token.
    raw = Tenant.objects.filter(pk=actor.tenant.pk).values_list("focus_account_token", flat=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT focus_account_token FROM tenants_tenant WHERE id = %s",
                       [actor.tenant.pk])
        assert "acct-token-secret-9876" not in cursor.fetchone()[0]
    assert list(raw) == ["acct-token-secret-9876"]


def test_admin_creates_a_key_and_shows_its_secret_once(actor: Actor, client) -> None:
    staff = _staff_client(client)
    response = staff.post(
        "/admin/tenants/apikey/add/",
        {"tenant": actor.tenant.pk, "name": "from-admin", "environment": "homologacao"},
        follow=True,
    )
    page = response.content.decode()
    raw = re.search(r"fg_test_[A-Za-z0-9]{44}", page).group(0)
    assert api_key_authenticate(raw=raw).name == "from-admin"
    assert ApiKey.objects.filter(tenant=actor.tenant).count() == 2
    again = staff.get("/admin/tenants/apikey/").content.decode()
    assert raw not in again


def test_create_tenant_prints_working_keys(db: None) -> None:
    out = io.StringIO()
    call_command("create_tenant", "Beta SaaS", stdout=out)
    keys = re.findall(r"fg_(?:test|live)_[A-Za-z0-9]{44}", out.getvalue())
    assert len(keys) == 2
    tenant = Tenant.objects.get(name="Beta SaaS")
    assert {api_key_authenticate(raw=k).tenant for k in keys} == {tenant}


def test_demo_setup_is_repeatable_and_revokes_the_previous_demo_key(db: None, settings,
                                                                     tmp_path) -> None:
    settings.VAR_DIR = tmp_path
    first, second = io.StringIO(), io.StringIO()
    call_command("demo_setup", stdout=first)
    call_command("demo_setup", stdout=second)
    key1 = re.search(r"fg_test_[A-Za-z0-9]{44}", first.getvalue()).group(0)
    key2 = re.search(r"fg_test_[A-Za-z0-9]{44}", second.getvalue()).group(0)
    assert api_key_authenticate(raw=key1) is None
    assert api_key_authenticate(raw=key2) is not None
    assert Tenant.objects.filter(name="Demo").count() == 1
    assert Empresa.objects.filter(tenant__name="Demo").count() == 1
    assert (tmp_path / "sandbox-companies.json").exists()
