"""An operation that cannot be sent because our budget for the Focus token is spent answers
as Focus does when its limit is passed (429, Rate-Limit-*, Retry-After), and leaves nothing
pending that would be sent later without the tenant knowing."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from fiscal import operations
from fiscal.focus.budget import acquire
from fiscal.focus.client import token_fingerprint
from fiscal.models import FiscalEvent, NextAction, NoteStatus
from tenants.models import Empresa
from tests.conftest import Actor
from tests.fiscal.conftest import Upstream
from tests.fiscal.test_operations import JUSTIFICATIVA, authorized  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _spend_the_budget(empresa: Empresa) -> None:
    """Take every request of the token's window, as other work through the token would."""
    fingerprint = token_fingerprint(empresa.token_homologacao)
    while acquire(fingerprint=fingerprint, tenant_id=0, urgent=True).allowed:
        pass


@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("delete", "", {"justificativa": JUSTIFICATIVA}),
    ("post", "/carta_correcao", {"correcao": "Correção do endereço do destinatário"}),
    ("post", "/email", {"emails": ["cliente@example.com"]}),
    ("post", "/ator_interessado", {"cnpj": "11222333000181"}),
])
def test_an_operation_not_sent_for_our_spent_budget_answers_focus_s_429(  # type: ignore[no-untyped-def]
        actor: Actor, other: Actor, authorized, empresa: Empresa,  # noqa: F811
        upstream: Upstream, settings, method: str, suffix: str, body: dict) -> None:
    note = authorized("bud-1")
    settings.FG_FOCUS_RATE_LIMIT = 5
    _spend_the_budget(empresa)
    response = getattr(actor.client, method)(f"/v2/nfe/bud-1{suffix}", body, format="json")
    assert response.status_code == 429, response.content
    assert response.json() == {
        "codigo": "limite_requisicoes",
        "mensagem": "Limite de requisições por minuto excedido. Tente novamente em instantes."}
    assert response["Rate-Limit-Limit"] == "5" and response["Rate-Limit-Remaining"] == "0"
    reset = int(response["Rate-Limit-Reset"])
    assert 1 <= reset <= 61 and response["Retry-After"] == str(reset)
    # Nothing half-written: the event is closed as not sent and will never leave later.
    event = note.fiscal_events.get()
    assert event.status == FiscalEvent.Status.ERRO and event.next_action == NextAction.NONE
    assert event.upstream["gateway"]["sent"] is False and not event.in_doubt
    cache.clear()  # the window passes
    assert operations.dispatch_due_events() == []
    note.refresh_from_db()
    assert note.status == NoteStatus.AUTORIZADO
    # Another tenant's ref is still a 404, budget or not.
    assert getattr(other.client, method)(f"/v2/nfe/bud-1{suffix}", body,
                                         format="json").status_code == 404
    # The tenant sends it again when it wants: it goes through, once.
    again = getattr(actor.client, method)(f"/v2/nfe/bud-1{suffix}", body, format="json")
    assert again.status_code == 200, again.content
    assert note.fiscal_events.filter(status=FiscalEvent.Status.AUTORIZADO).count() == (
        0 if suffix == "/email" else 1)
