from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from fiscal.changes import ChangeType, FiscalChange, publish
from fiscal.models import Inutilizacao, NoteEvent
from tests.conftest import OTHER_CNPJ, Actor, make_actor
from tests.webhooks.conftest import create_endpoint, make_note, publish_note, run_due
from webhooks.endpoints import endpoint_create
from webhooks.models import Delivery, Event, EventType


def test_a_state_change_writes_an_event_and_one_delivery_per_endpoint_without_http(
    actor: Actor, other: Actor, empresa, make_empresa, receiver
) -> None:
    first, _ = create_endpoint(actor, receiver.url("/a"))
    second, _ = create_endpoint(actor, receiver.url("/b"))
    elsewhere, _ = create_endpoint(other, receiver.url("/other"))
    note = make_note(empresa)

    publish_note(note)

    event = Event.objects.get(tenant=actor.tenant)
    assert event.type == EventType.NOTE_AUTHORIZED
    assert event.sequence == 1
    assert event.data["status"] == "autorizado" and event.data["ref"] == note.ref
    assert event.note == note and event.doc_type == "nfe" and event.environment == "homologacao"
    deliveries = Delivery.objects.filter(event=event)
    assert {d.endpoint_id for d in deliveries} == {first.pk, second.pk}
    assert all(d.state == "pending" and d.next_attempt_at is not None for d in deliveries)
    assert not Delivery.objects.filter(endpoint=elsewhere).exists()
    # Inside the transaction nothing was sent: HTTP belongs to the task.
    assert receiver.requests == []
    timeline = NoteEvent.objects.get(note=note, kind=NoteEvent.Kind.WEBHOOK_EMITTED)
    assert timeline.data["sequence"] == 1 and len(timeline.data["deliveries"]) == 2

    assert sorted(run_due()) == ["succeeded", "succeeded"]
    assert sorted(r.path for r in receiver.requests) == ["/a", "/b"]


def test_a_rolled_back_change_leaves_no_event_and_sends_nothing(actor: Actor, empresa,
                                                                 receiver) -> None:
    create_endpoint(actor, receiver.url())
    note = make_note(empresa)
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(FiscalChange(type=ChangeType.NOTE_AUTHORIZED, tenant=actor.tenant,
                             empresa=empresa, data={"status": "autorizado"}, note=note))
        raise RuntimeError("the fiscal transaction failed")
    assert not Event.objects.exists() and not Delivery.objects.exists()
    assert run_due() == [] and receiver.requests == []


def test_sequences_increase_per_tenant(actor: Actor, other: Actor, empresa, make_empresa) -> None:
    other_empresa = make_empresa(other.tenant)
    for _ in range(3):
        publish_note(make_note(empresa))
    publish_note(make_note(other_empresa))
    assert list(Event.objects.filter(tenant=actor.tenant).order_by("id")
                .values_list("sequence", flat=True)) == [1, 2, 3]
    assert Event.objects.get(tenant=other.tenant).sequence == 1


def test_filters_by_event_type_document_type_company_and_environment(
    actor: Actor, empresa, make_empresa, receiver
) -> None:
    second_empresa = make_empresa(actor.tenant, cnpj=OTHER_CNPJ)
    only_cancel, _ = create_endpoint(actor, receiver.url(), event_types=["note.cancelled"])
    only_nfse, _ = create_endpoint(actor, receiver.url(), doc_types=["nfse"])
    only_second, _ = create_endpoint(actor, receiver.url(), empresa=second_empresa)
    everything, _ = create_endpoint(actor, receiver.url())
    live_endpoint = endpoint_create(
        tenant=actor.tenant, environment="producao", url=receiver.url()
    ).endpoint

    publish_note(make_note(empresa))  # nfe, authorized, first company, homologação
    event = Event.objects.get()
    assert set(event.deliveries.values_list("endpoint_id", flat=True)) == {everything.pk}

    publish_note(make_note(second_empresa, doc_type="nfse"), ChangeType.NOTE_CANCELLED)
    event = Event.objects.latest("id")
    assert set(event.deliveries.values_list("endpoint_id", flat=True)) == {
        only_cancel.pk, only_nfse.pk, only_second.pk, everything.pk,
    }
    assert not Delivery.objects.filter(endpoint=live_endpoint).exists()


def test_inutilizacao_events_carry_the_environment_and_document_type(actor: Actor, empresa,
                                                                     receiver) -> None:
    endpoint, _ = create_endpoint(actor, receiver.url(), event_types=["inutilizacao.registered"])
    inutilizacao = Inutilizacao.objects.create(
        tenant=actor.tenant, empresa=empresa, environment="homologacao", modelo="55",
        serie="1", numero_inicial=5, numero_final=7, status="autorizado",
    )
    data = {"cnpj": empresa.cnpj, "modelo": "55", "serie": "1", "numero_inicial": 5,
            "numero_final": 7, "status": "autorizado"}
    with transaction.atomic():
        publish(FiscalChange(type=ChangeType.INUTILIZACAO_REGISTERED, tenant=actor.tenant,
                             empresa=empresa, data=data, inutilizacao=inutilizacao))
    event = Event.objects.get()
    assert event.doc_type == "nfe" and event.environment == "homologacao"
    assert event.deliveries.get().endpoint == endpoint
    assert run_due() == ["succeeded"]
    assert receiver.requests[0].json()["data"] == data


@pytest.mark.django_db(transaction=True)
def test_concurrent_changes_get_distinct_increasing_sequences(make_empresa) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrency needs a server database")
    actor = make_actor("Concurrent SaaS")
    empresa = make_empresa(actor.tenant)
    notes = [make_note(empresa) for _ in range(12)]
    barrier = threading.Barrier(len(notes))
    errors: list[BaseException] = []

    def worker(note) -> None:
        try:
            barrier.wait()
            publish_note(note)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in notes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    sequences = sorted(Event.objects.filter(tenant=actor.tenant)
                       .values_list("sequence", flat=True))
    assert sequences == list(range(1, len(notes) + 1))
