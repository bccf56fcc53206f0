"""Hook health on GET /v2/hooks/ID: Focus's reputation window counted from our own attempts.

Reference: FocusNFe/api-doc ``_webhooks.md``, "Monitoramento de Reputação" (rolling window of
the last 2 days) and "Campos devolvidos" of the single-hook consulta. The deliveries are real
HTTP to a raw loopback receiver that answers what each test scripts: 200, 500, or a reset with
no answer at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import VALID_CNPJ, Actor
from tests.support.loopback import Connection, LoopbackServer
from tests.webhooks.conftest import make_note, publish_note, run_due
from webhooks.models import Attempt, Delivery, Endpoint

OK = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
ERROR = b"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 4\r\n\r\nfail"
RESET = b""  # close without a byte: no answer


@pytest.fixture(autouse=True)
def quick_retries(settings) -> None:
    settings.FG_WEBHOOKS_RETRY_SCHEDULE = [5, 300, 1800]
    settings.FG_WEBHOOKS_RETRY_JITTER = 0.0


@pytest.fixture
def scripted() -> Iterator[Callable[..., LoopbackServer]]:
    """A receiver answering the given replies in order, then 200 to everything."""
    servers: list[LoopbackServer] = []

    def start(*replies: bytes) -> LoopbackServer:
        queue = list(replies)

        def behaviour(conn: Connection) -> None:
            reply = queue.pop(0) if queue else OK
            if reply:
                conn.send(reply)

        servers.append(LoopbackServer(behaviour))
        return servers[-1]

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


def _create_hook(actor: Actor, url: str) -> str:
    created = actor.client.post("/v2/hooks", {"cnpj": VALID_CNPJ, "event": "nfe", "url": url},
                                format="json")
    assert created.status_code == 200, created.content
    return created.json()["id"]


def _deliver_until_settled(endpoint: Endpoint) -> list[str]:
    """Run the schedule at each retry time until every delivery of the hook is settled."""
    outcomes = run_due()
    while (pending := Delivery.objects.filter(endpoint=endpoint, state="pending")
           .exclude(next_attempt_at=None).order_by("next_attempt_at").first()):
        outcomes += run_due(pending.next_attempt_at)
    return outcomes


def _since(answer: dict) -> datetime:
    return datetime.fromisoformat(answer["count_since"])


def test_a_new_hook_has_empty_counts_since_its_creation(actor: Actor, empresa,
                                                        scripted) -> None:
    hook_id = _create_hook(actor, scripted().url())
    answer = actor.client.get(f"/v2/hooks/{hook_id}").json()
    assert (answer["request_count"], answer["error_count"], answer["success_count"]) == (0, 0, 0)
    endpoint = Endpoint.objects.get(public_id=hook_id)
    # Brasília time with its offset and whole seconds, as in Focus's example.
    assert answer["count_since"].endswith("-03:00") and "." not in answer["count_since"]
    assert _since(answer) == endpoint.created_at.replace(microsecond=0)
    assert list(answer)[:9] == ["id", "url", "authorization", "authorization_header", "event",
                                "count_since", "request_count", "error_count", "success_count"]
    # The listing is Focus's list of hooks: no metrics there.
    assert "request_count" not in actor.client.get("/v2/hooks").json()[0]


def test_counts_every_attempt_including_failures_and_no_answer(actor: Actor, other: Actor,
                                                               empresa, make_empresa,
                                                               scripted) -> None:
    receiver = scripted(ERROR, RESET)  # first note: 500, then no answer, then 200
    hook_id = _create_hook(actor, receiver.url())
    endpoint = Endpoint.objects.get(public_id=hook_id)
    publish_note(make_note(empresa))
    publish_note(make_note(empresa))
    outcomes = _deliver_until_settled(endpoint)
    assert sorted(outcomes) == ["retry", "retry", "succeeded", "succeeded"]
    assert len(receiver.requests) == 4

    answer = actor.client.get(f"/v2/hooks/{hook_id}").json()
    assert answer["request_count"] == 4
    assert answer["error_count"] == 2
    assert answer["success_count"] == 2
    assert answer["cnpj"] == VALID_CNPJ

    # Another tenant's hook and attempts are neither visible nor counted.
    other_empresa = make_empresa(other.tenant)
    other_hook = _create_hook(other, scripted(ERROR).url())
    publish_note(make_note(other_empresa))
    run_due()
    assert other.client.get(f"/v2/hooks/{other_hook}").json()["error_count"] == 1
    assert other.client.get(f"/v2/hooks/{hook_id}").status_code == 404
    assert actor.client.get(f"/v2/hooks/{hook_id}").json()["request_count"] == 4


def test_attempts_older_than_the_two_day_window_are_not_counted(actor: Actor, empresa,
                                                                 scripted) -> None:
    hook_id = _create_hook(actor, scripted(ERROR).url())
    endpoint = Endpoint.objects.get(public_id=hook_id)
    publish_note(make_note(empresa))
    publish_note(make_note(empresa))
    assert sorted(_deliver_until_settled(endpoint)) == ["retry", "succeeded", "succeeded"]
    # The hook has existed for a week and its failed attempt was made three days ago.
    now = timezone.now()
    Endpoint.objects.filter(pk=endpoint.pk).update(created_at=now - timedelta(days=7))
    Attempt.objects.filter(delivery__endpoint=endpoint, succeeded=False).update(
        started_at=now - timedelta(days=3)
    )

    before = timezone.now()
    answer = actor.client.get(f"/v2/hooks/{hook_id}").json()
    after = timezone.now()
    assert (answer["request_count"], answer["error_count"], answer["success_count"]) == (2, 0, 2)
    window = timedelta(days=2)
    assert (before - window).replace(microsecond=0) <= _since(answer) <= after - window


def test_the_query_count_does_not_grow_with_the_attempts(actor: Actor, empresa,
                                                         scripted) -> None:
    hook_id = _create_hook(actor, scripted(ERROR, ERROR, ERROR).url())
    endpoint = Endpoint.objects.get(public_id=hook_id)
    publish_note(make_note(empresa))
    _deliver_until_settled(endpoint)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert actor.client.get(f"/v2/hooks/{hook_id}").status_code == 200
        return len(captured)

    few = queries()
    for _ in range(5):
        publish_note(make_note(empresa))
    _deliver_until_settled(endpoint)
    assert actor.client.get(f"/v2/hooks/{hook_id}").json()["request_count"] == 9
    assert queries() == few
