"""Timeline rows written in one batch are seen by post_save listeners as rows saved alone."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.db.models.signals import post_save

from fiscal.models import Note, NoteEvent
from fiscal.services import note_event, timeline_batch
from tenants.models import Empresa
from tests.conftest import Actor
from tests.sandbox.helpers import nfe_payload


def test_a_batched_timeline_row_is_announced_like_one_saved_alone(
    actor: Actor, make_empresa: Callable[..., Empresa]
) -> None:
    empresa = make_empresa(actor.tenant)
    note = Note.objects.create(
        tenant=empresa.tenant, empresa=empresa, environment="homologacao", doc_type="nfe",
        ref="batch-1", upstream_ref="fg-batch-1", payload=nfe_payload(empresa.documento),
    )
    heard: list[tuple[str, bool]] = []

    def listener(sender: type, instance: NoteEvent, created: bool, **kwargs: object) -> None:
        heard.append((instance.kind, created))

    post_save.connect(listener, sender=NoteEvent, weak=False)
    try:
        note_event(note, NoteEvent.Kind.CREATED, "alone")
        with transaction.atomic(), timeline_batch():
            note_event(note, NoteEvent.Kind.RESENT, "batched")
            note_event(note, NoteEvent.Kind.OPERATOR, "batched")
            assert len(heard) == 1  # the batch is written, and announced, at its end
    finally:
        post_save.disconnect(listener, sender=NoteEvent)
    assert heard == [(NoteEvent.Kind.CREATED, True), (NoteEvent.Kind.RESENT, True),
                     (NoteEvent.Kind.OPERATOR, True)]
    assert note.events.count() == 3
