"""The counters after a note's whole life: emitted through the facade against the sandbox,
settled by the schedule, told to a webhook receiver, archived and verified."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fiscal.models import Note, NoteStatus
from storage import tasks as storage_tasks
from storage.archiving import archive_run_due
from storage.backends import get_backend
from storage.models import Artifact, ArtifactState
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream, drive
from tests.metrics.conftest import scrape
from tests.sandbox.helpers import HOMOLOGACAO_NOME, nfe_payload
from tests.webhooks.conftest import Receiver, Reply
from webhooks import dispatch as webhook_dispatch
from webhooks import tasks as webhook_tasks
from webhooks.endpoints import endpoint_create
from webhooks.models import Delivery

# on_commit must really run: the counters of database changes are bumped on commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.FG_WEBHOOKS_ALLOW_LOOPBACK = True
    settings.FG_WEBHOOKS_REQUIRE_HTTPS = False
    settings.FG_WEBHOOKS_TIMEOUT = 2.0
    settings.FG_WEBHOOKS_CONNECT_TIMEOUT = 1.0
    r = Receiver()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture(autouse=True)
def enqueued(monkeypatch) -> list[tuple[int, str]]:
    """No worker runs here: the Celery messages are kept, and the test runs them."""
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(webhook_dispatch, "_celery_enqueue", lambda i, t: sent.append((i, t)))
    return sent


def deliver_enqueued(enqueued: list[tuple[int, str]]) -> None:
    """What a worker would do with the messages: the Celery task's own code, in-process."""
    while enqueued:
        webhook_tasks.deliver(*enqueued.pop(0))


def test_a_notes_whole_life_moves_each_counter_by_what_happened(
    actor: Actor, empresa: Empresa, upstream: Upstream, receiver: Receiver,
    enqueued: list[tuple[int, str]],
) -> None:
    endpoint_create(tenant=actor.tenant, environment="homologacao",
                    url=receiver.url())
    before = scrape()

    response = actor.client.post("/v2/nfe?ref=life-1", nfe_payload(VALID_CNPJ), format="json")
    assert response.status_code == 202, response.content
    note = Note.objects.get(ref="life-1")
    mid = scrape()
    assert mid.value("fg_pending_notes", next_action="sync") == 1
    assert mid.value("fg_oldest_pending_seconds") > 0

    note = drive(note, upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    deliver_enqueued(enqueued)
    assert len(receiver.requests) == 1
    artifacts = Artifact.objects.filter(note=note).count()
    assert artifacts >= 2  # the XML and the DANFe
    backlog = scrape()
    archive_run_due()
    assert Artifact.objects.filter(note=note, state=ArtifactState.ARCHIVED).count() == artifacts
    after = scrape()

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    # Statuses entered: accepted, then authorized. Nothing else.
    assert moved("fg_notes_total", doc_type="nfe", status="processando_autorizacao") == 1
    assert moved("fg_notes_total", doc_type="nfe", status="autorizado") == 1
    assert after.sum("fg_notes_total") - before.sum("fg_notes_total") == 2

    # One POST (inline, Focus answered 202) and one GET per sync, by endpoint template.
    assert moved("fg_focus_requests_total", endpoint="POST /v2/nfe", code="202") == 1
    assert moved("fg_focus_requests_total", endpoint="GET /v2/nfe/{ref}", code="200") == (
        note.sync_attempts
    )
    assert moved("fg_focus_request_seconds_count", endpoint="POST /v2/nfe") == 1
    downloads = moved("fg_focus_requests_total", endpoint="GET /{file}", code="200")
    assert downloads == artifacts
    assert after.sum("fg_focus_requests_total") - before.sum("fg_focus_requests_total") == (
        1 + note.sync_attempts + artifacts
    )
    assert after.sum("fg_focus_budget_waits_total") == before.sum("fg_focus_budget_waits_total")

    # One delivery, acknowledged; its lag observed once.
    assert moved("fg_webhook_deliveries_total", outcome="succeeded") == 1
    assert after.sum("fg_webhook_deliveries_total") - before.sum(
        "fg_webhook_deliveries_total") == 1
    assert moved("fg_webhook_delivery_lag_seconds_count") == 1
    assert moved("fg_webhook_delivery_lag_seconds_sum") > 0

    # The gauges are back where they were; the archive backlog went up and came down.
    assert after.value("fg_pending_notes", next_action="sync") == 0
    assert after.value("fg_pending_notes", next_action="submit") == 0
    assert after.value("fg_oldest_pending_seconds") == 0
    assert after.value("fg_stuck_notes") == 0
    assert backlog.value("fg_archive_backlog") == artifacts
    assert after.value("fg_archive_backlog") == 0

    # No reference of any kind in a label: templates only.
    text = actor.client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    for secret in (note.upstream_ref, note.ref, note.chave):
        assert secret not in text

    # Bit rot in the archive: the next verification counts it and the gauge shows it.
    victim = Artifact.objects.filter(note=note).order_by("id").first()
    path = get_backend().root.joinpath(*victim.key.split("/"))  # type: ignore[attr-defined]
    os.chmod(path, 0o644)
    path.write_bytes(b"<nfeProc>tampered</nfeProc>")
    storage_tasks.archive_verify_sample()
    verified = scrape()
    assert verified.value("fg_archive_verify_failures_total", result="mismatch") - (
        before.value("fg_archive_verify_failures_total", result="mismatch")) == 1
    assert verified.value("fg_archive_verification_problems", result="mismatch") == 1


def test_a_failing_receiver_counts_a_retry_and_its_lag_only_once_acknowledged(
    actor: Actor, empresa: Empresa, upstream: Upstream, receiver: Receiver,
    enqueued: list[tuple[int, str]],
) -> None:
    endpoint_create(tenant=actor.tenant, environment="homologacao",
                    url=receiver.url())
    receiver.reply(Reply(status=500))
    before = scrape()
    assert actor.client.post("/v2/nfe?ref=w-1", nfe_payload(VALID_CNPJ),
                             format="json").status_code == 202
    drive(Note.objects.get(ref="w-1"), upstream=upstream)
    deliver_enqueued(enqueued)
    failed = scrape()
    assert failed.value("fg_webhook_deliveries_total", outcome="retry") - before.value(
        "fg_webhook_deliveries_total", outcome="retry") == 1
    assert failed.value("fg_webhook_delivery_lag_seconds_count") == before.value(
        "fg_webhook_delivery_lag_seconds_count")

    # The retry falls due; the receiver (200 by default now) acknowledges it.
    Delivery.objects.update(next_attempt_at=timezone.now())
    webhook_dispatch.dispatch_due(enqueue=lambda i, t: webhook_tasks.deliver(i, t))
    deliver_enqueued(enqueued)
    assert len(receiver.requests) == 2
    after = scrape()
    assert after.value("fg_webhook_deliveries_total", outcome="succeeded") - before.value(
        "fg_webhook_deliveries_total", outcome="succeeded") == 1
    assert after.value("fg_webhook_delivery_lag_seconds_count") - before.value(
        "fg_webhook_delivery_lag_seconds_count") == 1


def test_a_rejected_ref_sent_again_counts_each_status_it_entered(
    actor: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    before = scrape()
    # The documentation's homologação rule: any other recipient name is rejected (598).
    bad = nfe_payload(VALID_CNPJ, nome_destinatario="Fulano")
    assert actor.client.post("/v2/nfe?ref=r-1", bad, format="json").status_code == 202
    assert drive(Note.objects.get(ref="r-1"), upstream=upstream).status == (
        NoteStatus.ERRO_AUTORIZACAO
    )
    good = nfe_payload(VALID_CNPJ, nome_destinatario=HOMOLOGACAO_NOME)
    assert actor.client.post("/v2/nfe?ref=r-1", good, format="json").status_code == 202
    assert drive(Note.objects.get(ref="r-1"), upstream=upstream).status == NoteStatus.AUTORIZADO
    after = scrape()

    def moved(status: str) -> float:
        return (after.value("fg_notes_total", doc_type="nfe", status=status)
                - before.value("fg_notes_total", doc_type="nfe", status=status))

    assert moved("processando_autorizacao") == 2  # accepted, then accepted again
    assert moved("erro_autorizacao") == 1
    assert moved("autorizado") == 1
    assert after.sum("fg_notes_total") - before.sum("fg_notes_total") == 4


def test_focus_failures_are_counted_by_kind_without_an_answer_code(
    actor: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    before = scrape()
    upstream.fault("5xx", count=1, methods=["POST"], path_prefix="/v2/nfe")
    assert actor.client.post("/v2/nfe?ref=f-1", nfe_payload(VALID_CNPJ),
                             format="json").status_code == 202
    upstream.fault("hang", count=1, methods=["GET"], path_prefix="/v2/nfe", hang_seconds=3)
    note = drive(Note.objects.get(ref="f-1"), upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    after = scrape()

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert moved("fg_focus_requests_total", endpoint="POST /v2/nfe", code="500") == 1
    assert moved("fg_focus_requests_total", endpoint="GET /v2/nfe/{ref}", code="timeout") == 1


def test_budget_waits_are_counted(actor: Actor, empresa: Empresa, upstream: Upstream,
                                  settings) -> None:
    settings.FG_FOCUS_RATE_LIMIT = 1
    before = scrape()
    for ref in ("b-1", "b-2"):
        assert actor.client.post(f"/v2/nfe?ref={ref}", nfe_payload(VALID_CNPJ),
                                 format="json").status_code == 202
    after = scrape()
    # The first took the token's only request of the minute; the second (urgent) waits.
    assert after.value("fg_focus_budget_waits_total", urgent="true") - before.value(
        "fg_focus_budget_waits_total", urgent="true") == 1
    assert Note.objects.get(ref="b-2").submit_attempts == 0


def test_the_scrape_costs_the_same_queries_for_one_note_or_many(
    actor: Actor, empresa: Empresa, upstream: Upstream, settings
) -> None:
    settings.FG_INLINE_SUBMIT = False

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            scrape()
        return len(captured)

    assert actor.client.post("/v2/nfe?ref=q-0", nfe_payload(VALID_CNPJ),
                             format="json").status_code == 202
    one = queries()
    for i in range(1, 12):
        assert actor.client.post(f"/v2/nfe?ref=q-{i}", nfe_payload(VALID_CNPJ),
                                 format="json").status_code == 202
    Note.objects.filter(ref__in=["q-1", "q-2"]).update(stuck_at=Note.objects.get(
        ref="q-0").created_at)
    many = scrape()
    assert many.value("fg_pending_notes", next_action="submit") == 12
    assert many.value("fg_stuck_notes") == 2
    assert queries() == one
