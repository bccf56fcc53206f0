"""Two `celery beat` processes at once (a deploy that started a second by mistake, or two hosts
during a failover): every due note is still POSTed to Focus once and every due delivery sent
once, because each dispatcher run claims a row with a conditional update that only one wins
(fiscal.services.dispatch_due_notes, webhooks.dispatch._claim).
"""

from __future__ import annotations

import shelve
import signal
import subprocess
from collections import Counter

import httpx
import pytest

from fiscal.models import Note, NoteStatus
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ
from tests.e2e.conftest import BIN, Proc, Stack, wait_until
from tests.sandbox.helpers import nfe_payload
from tests.webhooks.conftest import Receiver, make_note, publish_note
from webhooks import dispatch as webhook_dispatch
from webhooks.endpoints import endpoint_create
from webhooks.models import Attempt, Delivery, DeliveryState

pytestmark = pytest.mark.slow

NOTES = 12
DELIVERIES = 12


@pytest.fixture
def receiver() -> Receiver:
    r = Receiver()
    yield r
    r.stop()


def _beat(stack: Stack, name: str, env: dict[str, str]) -> Proc:
    return Proc(
        [str(BIN / "celery"), "-A", "config", "beat", "--loglevel", "INFO",
         "--schedule", str(stack.tmp / f"schedule-{name}")],
        env, stack.tmp / f"{name}.log",
    ).start()


def test_two_beats_dispatch_every_note_and_delivery_exactly_once(
    e2e: Stack, tenant_key: str, receiver: Receiver, settings, monkeypatch,
) -> None:
    settings.FG_WEBHOOKS_ALLOW_LOOPBACK = True
    settings.FG_WEBHOOKS_REQUIRE_HTTPS = False
    env = {**e2e.env, "FG_WEBHOOKS_ALLOW_LOOPBACK": "true", "FG_WEBHOOKS_REQUIRE_HTTPS": "false"}

    # Deliveries already due when the beats start: settled notes whose fast path never ran
    # (as after a restart), so only the dispatchers can send them.
    empresa = Empresa.objects.get(cnpj=VALID_CNPJ)
    endpoint_create(tenant=empresa.tenant, environment="homologacao", url=receiver.url())
    monkeypatch.setattr(webhook_dispatch, "_kick", lambda ids: None)
    for _ in range(DELIVERIES):
        publish_note(make_note(empresa))
    monkeypatch.undo()
    assert Delivery.objects.filter(state=DeliveryState.PENDING).count() == DELIVERIES

    # Notes accepted by the web whose "submit now" messages are lost with Redis' contents:
    # the dispatchers find them in Postgres once the fast path's grace has passed.
    with httpx.Client(base_url=e2e.web_url, auth=(tenant_key, ""), timeout=30) as web:
        for i in range(NOTES):
            response = web.post("/v2/nfe", params={"ref": f"beats-{i}"},
                                json=nfe_payload(VALID_CNPJ))
            assert response.status_code == 202, response.text
    subprocess.run(["redis-cli", "-p", str(e2e.redis_port), "FLUSHALL"], check=True,
                   capture_output=True)

    procs = [_beat(e2e, "beat-a", env), _beat(e2e, "beat-b", env), Proc(
        [str(BIN / "celery"), "-A", "config", "worker", "-Q", "default,submit,sync,webhooks",
         "--concurrency", "4", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
         "-n", "beats@e2e"],
        env, e2e.tmp / "beats-worker.log",
    ).start()]
    try:
        def all_done() -> bool:
            notes_left = Note.objects.filter(ref__startswith="beats-").exclude(
                status=NoteStatus.AUTORIZADO, next_action="").count()
            deliveries_left = Delivery.objects.exclude(state=DeliveryState.SUCCEEDED).count()
            return notes_left == 0 and deliveries_left == 0

        try:
            wait_until(all_done, 120, "every note settled and every delivery acknowledged")
        except AssertionError:
            print(e2e.logs())
            raise
    finally:
        # SIGTERM: a beat writes its schedule file (what it sent, how often) as it stops.
        for proc in procs:
            proc.kill(signal.SIGTERM)

    # Both beats really ran the dispatchers, several times each.
    for name in ("beat-a", "beat-b"):
        # The file the beat itself wrote in this test.
        with shelve.open(str(e2e.tmp / f"schedule-{name}"), flag="r") as schedule:  # noqa: S301
            entries = schedule["entries"]
            assert entries["dispatch-notes"].total_run_count >= 2, name
            assert entries["webhooks-dispatch"].total_run_count >= 2, name

    with e2e.control as control:
        counters = control.get("/counters").json()["counters"]
    upstream_refs = set(Note.objects.filter(ref__startswith="beats-")
                        .values_list("upstream_ref", flat=True))
    posts = {row["ref"]: row for row in counters if row["ref"] in upstream_refs}
    assert set(posts) == upstream_refs
    assert {(row["posts"], row["documents_created"]) for row in posts.values()} == {(1, 1)}

    deliveries = list(Delivery.objects.values_list("pk", "webhook_id"))
    # The old deliveries, plus one note.authorized per new note to the same endpoint.
    assert len(deliveries) == DELIVERIES + NOTES
    received = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert received == Counter({webhook_id: 1 for _, webhook_id in deliveries})
    attempts = Counter(Attempt.objects.values_list("delivery_id", flat=True))
    assert attempts == Counter({pk: 1 for pk, _ in deliveries})
