"""Every Focus call takes from the token's shared budget and teaches it Focus's Rate-Limit-*
headers, whatever the endpoint: the client does it, so no caller can forget (issue 11)."""

from __future__ import annotations

import pytest

from fiscal.focus import budget
from fiscal.focus.client import FocusBudgetSpent, FocusClient, FocusRateLimited, token_fingerprint
from fiscal.hooks import empresa_sync_hooks
from fiscal.models import FocusHook
from tenants.models import Empresa
from tests.conftest import HOMOLOG_TOKEN, PROD_TOKEN, Actor
from tests.fiscal.conftest import Upstream


def client(actor: Actor) -> FocusClient:
    return FocusClient(environment="homologacao", token=HOMOLOG_TOKEN, tenant_id=actor.tenant.pk)


def test_focus_saying_no_request_is_left_blocks_the_token_for_every_later_call(
    actor: Actor, upstream: Upstream
) -> None:
    upstream.control.post("/config", json={"rate_limit": 2})
    focus = client(actor)
    assert focus.hooks_list() == []
    assert focus.hooks_list() == []  # Focus answers Rate-Limit-Remaining: 0
    fingerprint = token_fingerprint(HOMOLOG_TOKEN)
    assert budget.left(fingerprint=fingerprint).blocked_for > 0
    # The next call, to any endpoint, is refused on our side: nothing reaches Focus.
    with pytest.raises(FocusBudgetSpent):
        focus.consult("nfe", "any-ref")
    with pytest.raises(FocusBudgetSpent):
        focus.hook_delete("1")
    assert upstream.counters() == []


def test_a_429_from_focus_blocks_the_token_even_for_calls_that_never_read_the_answer(
    actor: Actor, upstream: Upstream
) -> None:
    upstream.fault("429", count=1, methods=["DELETE"], path_prefix="/v2/hooks")
    focus = client(actor)
    with pytest.raises(FocusRateLimited):
        focus.hook_delete("1")
    assert budget.left(fingerprint=token_fingerprint(HOMOLOG_TOKEN)).blocked_for > 0
    with pytest.raises(FocusBudgetSpent):
        focus.hooks_list()


def test_hook_registration_waits_while_the_token_is_blocked(
    actor: Actor, empresa: Empresa, upstream: Upstream, settings, live_server
) -> None:
    settings.FG_PUBLIC_URL = live_server.url
    settings.FG_FOCUS_HOOKS_ENABLED = True
    budget.observe(fingerprint=token_fingerprint(empresa.token_homologacao), remaining=0,
                   reset=30)
    empresa_sync_hooks(empresa=empresa)
    # Nothing was registered at Focus under the blocked token (the reconcile will do it); the
    # company's other token has its own budget and got its hooks.
    owners = {hook.owner_token for hook in upstream.server.store.hooks.values()}
    assert owners == {PROD_TOKEN}
    assert not FocusHook.objects.filter(environment="homologacao").exclude(focus_id="").exists()
    assert FocusHook.objects.filter(environment="producao").exclude(focus_id="").exists()
