"""What the fiscal app tells the rest of the gateway: one FiscalChange per state change.

The fiscal services call ``publish`` inside the transaction that records the change, so a
subscriber's rows (webhook events and deliveries, archive work) commit or roll back with it.
Subscribers are named in ``settings.FG_CHANGE_SUBSCRIBERS`` and must only write rows: any I/O
belongs to the work they schedule, never to the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import models

from core.subscribers import subscribers
from fiscal.models import FiscalEvent, Inutilizacao, Note
from tenants.models import Empresa, Tenant


class ChangeType(models.TextChoices):
    NOTE_AUTHORIZED = "note.authorized"
    NOTE_REJECTED = "note.rejected"  # erro_autorizacao
    NOTE_DENIED = "note.denied"  # denegado
    NOTE_CANCELLED = "note.cancelled"
    NOTE_CANCELLATION_FAILED = "note.cancellation_failed"  # erro_cancelamento
    NOTE_REPLACED = "note.replaced"  # NFSe substituido
    CORRECTION_REGISTERED = "note.correction_registered"  # carta de correção
    OPERATION_REGISTERED = "note.operation_registered"  # ator interessado, insucesso, ...
    OPERATION_FAILED = "note.operation_failed"
    CONTINGENCY_STARTED = "note.contingency_started"
    CONTINGENCY_EFFECTIVE = "note.contingency_effective"
    PREVIOUS_ATTEMPT_CANCELLED = "note.previous_attempt_cancelled"  # tentativa_anterior
    INUTILIZACAO_REGISTERED = "inutilizacao.registered"
    NOTE_STUCK = "note.stuck"


@dataclass(frozen=True)
class FiscalChange:
    type: str
    tenant: Tenant
    empresa: Empresa
    # Snapshot for receivers. For note changes: the note's facade consulta JSON (gateway paths),
    # exactly what a Focus hook would post for it.
    data: dict[str, Any]
    note: Note | None = None
    fiscal_event: FiscalEvent | None = None
    inutilizacao: Inutilizacao | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def publish(change: FiscalChange) -> None:
    for subscriber in subscribers(tuple(settings.FG_CHANGE_SUBSCRIBERS)):
        subscriber(change)
