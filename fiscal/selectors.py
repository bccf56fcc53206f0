"""Reads of notes. Every selector takes the tenant and the key's environment: another
tenant's note, or the other environment's, is a 404 (its existence is not revealed)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from fiscal.models import FiscalEvent, Note, NoteEvent
from tenants.models import Tenant


def note_by_ref(*, tenant: Tenant, environment: str, doc_type: str, ref: str) -> Note | None:
    return (
        Note.objects.select_related("empresa")
        .filter(tenant=tenant, environment=environment, doc_type=doc_type, ref=ref)
        .first()
    )


def note_at_focus(*, tenant: Tenant, environment: str, doc_type: str, ref: str) -> Note | None:
    """The note under ``ref`` as the facade sees it: one Focus holds. A note Focus refused at
    its first validation exists only in our records (native API, timeline); at Focus the ref
    is free, so the facade answers 404 for it as Focus does."""
    note = note_by_ref(tenant=tenant, environment=environment, doc_type=doc_type, ref=ref)
    return None if note is None or note.focus_refused else note


def note_list(
    *,
    tenant: Tenant,
    environment: str,
    doc_type: str | None = None,
    status: str | None = None,
    empresa_id: int | None = None,
    environment_filter: str | None = None,
    ref: str | None = None,
    chave: str | None = None,
    cnpj: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    stuck: bool | None = None,
) -> QuerySet[Note]:
    qs = Note.objects.filter(tenant=tenant, environment=environment).select_related("empresa")
    if doc_type:
        qs = qs.filter(doc_type=doc_type)
    if status:
        qs = qs.filter(status=status)
    if empresa_id:
        qs = qs.filter(empresa_id=empresa_id)
    if environment_filter:
        # ?environment= narrows within the key's environment; the other one is simply empty.
        qs = qs.filter(environment=environment_filter)
    if ref:
        qs = qs.filter(ref=ref)
    if chave:
        qs = qs.filter(chave=chave)
    if cnpj:
        qs = qs.filter(empresa__cnpj=cnpj)
    if created_from:
        qs = qs.filter(created_at__gte=created_from)
    if created_to:
        qs = qs.filter(created_at__lt=created_to)
    if stuck is not None:
        qs = qs.filter(stuck_at__isnull=not stuck)
    return qs


def note_get(*, tenant: Tenant, environment: str, pk: int | str) -> Note:
    """The note every API reads by id (notes, files, webhooks): the key's tenant and
    environment only. Another tenant's note, or the other environment's, is a 404: its
    existence is not revealed."""
    return get_object_or_404(
        Note.objects.select_related("empresa"), tenant=tenant, environment=environment, pk=pk
    )


def note_timeline(*, note: Note) -> QuerySet[NoteEvent]:
    return NoteEvent.objects.filter(note=note).order_by("id")


def fiscal_event_list(*, tenant: Tenant, environment: str, note_id: int | None = None,
                      empresa_id: int | None = None, kind: str | None = None,
                      status: str | None = None) -> QuerySet[FiscalEvent]:
    qs = FiscalEvent.objects.filter(
        tenant=tenant, note__environment=environment
    ).select_related("note")
    if note_id:
        qs = qs.filter(note_id=note_id)
    if empresa_id:
        qs = qs.filter(note__empresa_id=empresa_id)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    return qs
