"""A change to a company's Focus setup is announced after commit to the named subscribers."""

from __future__ import annotations

import pytest
from django.db import transaction

from tenants.models import Empresa
from tenants.services import empresa_create, empresa_set_active, empresa_update
from tests.conftest import Actor

_heard: list[int] = []


def record(empresa_id: int) -> None:
    _heard.append(empresa_id)


@pytest.fixture(autouse=True)
def heard(settings) -> list[int]:
    """The empresa ids the subscriber heard of, in order."""
    settings.FG_EMPRESA_CHANGE_SUBSCRIBERS = ["tests.tenants.test_empresa_changes.record"]
    _heard.clear()
    return _heard


def _create(actor: Actor, empresa_payload, captured) -> Empresa:
    with captured(execute=True):
        return empresa_create(tenant=actor.tenant, data=empresa_payload(token_producao=None))


def test_a_new_company_is_announced_after_commit(
    actor: Actor, empresa_payload, django_capture_on_commit_callbacks, heard: list[int]
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        empresa = empresa_create(tenant=actor.tenant, data=empresa_payload(token_producao=None))
        assert heard == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert heard == [empresa.pk]


def test_only_focus_fields_and_re_enabling_are_announced(
    actor: Actor, empresa_payload, django_capture_on_commit_callbacks, heard: list[int]
) -> None:
    empresa = _create(actor, empresa_payload, django_capture_on_commit_callbacks)
    heard.clear()
    with django_capture_on_commit_callbacks(execute=True):
        empresa_update(empresa=empresa, data={"nome_fantasia": "Padaria da Esquina"})
        empresa_set_active(empresa=empresa, active=False)
    assert heard == []
    with django_capture_on_commit_callbacks(execute=True):
        empresa_update(empresa=empresa, data={"habilita_nfce": True})
        empresa_set_active(empresa=empresa, active=True)
    assert heard == [empresa.pk, empresa.pk]


def test_a_rolled_back_change_announces_nothing(
    actor: Actor, empresa_payload, django_capture_on_commit_callbacks, heard: list[int]
) -> None:
    empresa = _create(actor, empresa_payload, django_capture_on_commit_callbacks)
    heard.clear()
    with (django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError),
          transaction.atomic()):
        empresa_update(empresa=empresa, data={"habilita_nfce": True})
        raise RuntimeError("the request failed after the write")
    assert heard == []
