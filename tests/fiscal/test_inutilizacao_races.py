"""An inutilização request and Focus's ``inutilizacao`` hook for the same range, at the same time.

Real Postgres, each side on its own connection: the request runs in the test's thread, the
hook is delivered by the sandbox over HTTP to the live server (another thread). The race is
made deterministic from inside the request's settle transaction: a change subscriber placed
before the real ones lets the held hook go, and waits until Postgres shows the hook's backend
blocked by ours. Only then do the real subscribers insert their rows (webhook event, archive
artifact), whose foreign keys lock the empresa row: the moment a second lock order would turn
into a deadlock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.db import connection

from fiscal.changes import ChangeType, FiscalChange
from fiscal.hooks import empresa_sync_hooks
from fiscal.models import FocusHook, Inutilizacao
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream
from tests.support.db_locks import backends_blocked_by_me
from webhooks.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

JUSTIFICATIVA = "Numeracao pulada por falha no sistema"
REAL_SUBSCRIBERS = ["webhooks.events.on_fiscal_change", "storage.scheduling.on_fiscal_change"]


@dataclass
class Race:
    """Which side holds its settle transaction open until the other side waits on it."""

    # Whether the current thread is the side that holds (checked in the subscriber).
    holder: Callable[[], bool] | None = None
    # Called once the holder is inside its transaction (releases the other side).
    let_in: Callable[[], None] | None = None
    other_side_was_blocked: bool = False


RACE = Race()


def hold_until_the_other_side_waits(change: FiscalChange) -> None:
    """Runs first inside a settle transaction; only the holder's, once."""
    if change.type != ChangeType.INUTILIZACAO_REGISTERED:
        return
    if RACE.holder is None or not RACE.holder():
        return
    RACE.holder = None
    if RACE.let_in is not None:
        RACE.let_in()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if backends_blocked_by_me():
            RACE.other_side_was_blocked = True
            return
        time.sleep(0.02)


def _in_the_test_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _in_a_live_server_thread() -> bool:
    return threading.current_thread() is not threading.main_thread()


@pytest.fixture
def race(settings) -> Iterator[Race]:
    settings.FG_CHANGE_SUBSCRIBERS = [f"{__name__}.hold_until_the_other_side_waits",
                                      *REAL_SUBSCRIBERS]
    RACE.holder, RACE.let_in, RACE.other_side_was_blocked = None, None, False
    try:
        yield RACE
    finally:
        RACE.holder, RACE.let_in = None, None


@pytest.fixture
def hooked(settings, live_server, upstream: Upstream, empresa: Empresa,
           monkeypatch) -> list[FocusHook]:
    """The gateway's Focus hooks registered at the sandbox, pointing at the live server."""
    # The sandbox keeps its hook connections alive, and a live-server thread keeps its
    # database connection until its socket closes: close it after each request instead, so
    # nothing of this test still holds the test database afterwards.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    settings.FG_PUBLIC_URL = live_server.url
    settings.FG_FOCUS_HOOKS_ENABLED = True
    hooks = empresa_sync_hooks(empresa=empresa)
    assert any(h.event == "inutilizacao" and h.is_active for h in hooks)
    return hooks


def body(inicial: int, final: int) -> dict:
    return {"cnpj": VALID_CNPJ, "serie": "1", "numero_inicial": str(inicial),
            "numero_final": str(final), "justificativa": JUSTIFICATIVA}


def hook_deliveries(upstream: Upstream) -> tuple[list[dict], int]:
    answer = upstream.control.get("/hook-deliveries", params={"event": "inutilizacao"}).json()
    return answer["deliveries"], answer["pending"]


def wait_for_hooks(upstream: Upstream, count: int, timeout: float = 20.0) -> list[dict]:
    """Bounded wait until ``count`` hook deliveries were answered 2xx and none is queued."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliveries, pending = hook_deliveries(upstream)
        if pending == 0 and sum(1 for d in deliveries if d.get("delivered")) >= count:
            return deliveries
        time.sleep(0.05)
    return hook_deliveries(upstream)[0]


def test_the_hook_arriving_mid_settle_neither_deadlocks_nor_fails(
    actor: Actor, other: Actor, hooked: list[FocusHook], upstream: Upstream, race: Race,
) -> None:
    upstream.control.post("/hooks/pause", json={"mode": "hold"})
    race.holder = _in_the_test_thread
    race.let_in = lambda: upstream.control.post("/hooks/resume", json={})
    actor.client.raise_request_exception = False  # a 500 must show as a 500, not a traceback

    response = actor.client.post("/v2/nfe/inutilizacao", body(10, 12), format="json")

    assert race.other_side_was_blocked, "the hook never got in while the request settled"
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["status"] == "autorizado"
    deliveries = wait_for_hooks(upstream, 1)
    # Focus's hook was acknowledged at the first try: no 500 that Focus would retry.
    assert [d["status_code"] for d in deliveries] == [200], deliveries

    row = Inutilizacao.objects.get()  # a single inutilização for the range
    assert row.source == Inutilizacao.Source.TENANT and row.tenant == actor.tenant
    assert (row.status, row.status_sefaz) == ("autorizado", "102")
    assert row.protocolo == response.json()["protocolo_sefaz"]
    assert (row.numero_inicial, row.numero_final) == (10, 12)
    # Published once: the hook found the range settled and left it alone.
    events = Event.objects.filter(type=ChangeType.INUTILIZACAO_REGISTERED)
    assert events.count() == 1 and events.get().tenant == actor.tenant
    assert not Inutilizacao.objects.filter(tenant=other.tenant).exists()


def test_the_hook_settling_first_leaves_the_request_its_answer(
    actor: Actor, hooked: list[FocusHook], upstream: Upstream, race: Race, settings,
) -> None:
    """The other order: Focus's answer is lost after SEFAZ voided the range, and the hook is
    settling the row (inside its transaction) when the request, timed out, records its doubt.
    The request waits for the hook, then finds the range settled."""
    settings.FG_OPERATION_INLINE_TIMEOUT = 2.0
    upstream.fault("accept_then_hang", count=1, path_prefix="/v2/nfe/inutilizacao",
                   hang_seconds=10)
    race.holder = _in_a_live_server_thread
    actor.client.raise_request_exception = False

    response = actor.client.post("/v2/nfe/inutilizacao", body(20, 25), format="json")

    assert race.other_side_was_blocked, "the request never met the hook's transaction"

    deliveries = wait_for_hooks(upstream, 1)
    assert [d["status_code"] for d in deliveries] == [200], deliveries
    row = Inutilizacao.objects.get()
    assert (row.status, row.source) == ("autorizado", Inutilizacao.Source.TENANT)
    # The hook was faster than our timeout: the request answers SEFAZ's result, not "unknown".
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "autorizado"
    assert response.json()["protocolo_sefaz"] == row.protocolo
    assert Event.objects.filter(type=ChangeType.INUTILIZACAO_REGISTERED).count() == 1


def test_requests_racing_their_own_hooks_one_after_another(
    actor: Actor, hooked: list[FocusHook], upstream: Upstream, settings,
) -> None:
    """What the issue saw: six requests in a row, each with the hook Focus sends at once."""
    settings.FG_CHANGE_SUBSCRIBERS = REAL_SUBSCRIBERS
    actor.client.raise_request_exception = False
    answers = [
        actor.client.post("/v2/nfe/inutilizacao", body(100 + 10 * i, 105 + 10 * i),
                          format="json")
        for i in range(6)
    ]
    assert [a.status_code for a in answers] == [200] * 6, [a.content for a in answers]
    assert {a.json()["status"] for a in answers} == {"autorizado"}
    deliveries = wait_for_hooks(upstream, 6)
    assert sorted(d["status_code"] for d in deliveries) == [200] * 6, deliveries
    assert Inutilizacao.objects.count() == 6
    assert set(Inutilizacao.objects.values_list("status", flat=True)) == {"autorizado"}
    assert Event.objects.filter(type=ChangeType.INUTILIZACAO_REGISTERED).count() == 6

