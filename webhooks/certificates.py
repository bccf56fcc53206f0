"""Certificate expiry warnings: ``empresa.certificate_expiring`` at 30, 15, 7 and 1 day(s)
before ``Empresa.certificado_valido_ate`` (learned from Focus's empresas answers), and
``empresa.certificate_expired`` once it has passed. Each is published once per company and
validity date (CertificateNotice); running the task again publishes nothing new.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from tenants.models import Empresa
from webhooks.events import event_record
from webhooks.models import CertificateNotice, EventType

logger = logging.getLogger("webhooks.certificates")

THRESHOLDS = (30, 15, 7, 1)  # days before expiry; 0 below stands for "expired"


def due_threshold(*, valido_ate: datetime, now: datetime) -> int | None:
    """The tightest threshold reached (0 = expired), or None when none is.

    Only the tightest: a certificate first learned 5 days before expiry gets the 7-day
    warning, not three warnings at once.
    """
    left = valido_ate - now
    if left <= timedelta(0):
        return 0
    reached = [days for days in THRESHOLDS if left <= timedelta(days=days)]
    return min(reached) if reached else None


def certificate_notices_publish(*, now: datetime | None = None) -> int:
    """Publish every warning that is due and not yet published; the number published."""
    now = now or timezone.now()
    horizon = now + timedelta(days=max(THRESHOLDS))
    candidates = (Empresa.objects.select_related("tenant")
                  .filter(is_active=True, certificado_valido_ate__lte=horizon)
                  .defer("token_homologacao", "token_producao"))
    published = 0
    for empresa in candidates.iterator():
        threshold = due_threshold(valido_ate=empresa.certificado_valido_ate, now=now)
        if threshold is None:
            continue
        if CertificateNotice.objects.filter(
                empresa=empresa, valido_ate=empresa.certificado_valido_ate,
                threshold_days=threshold).exists():
            continue  # the usual case on every run after the first: no savepoint needed
        published += _publish(empresa, threshold=threshold, now=now)
    return published


def _publish(empresa: Empresa, *, threshold: int, now: datetime) -> int:
    try:
        with transaction.atomic():
            # The row first: a concurrent run fails here and publishes nothing.
            notice = CertificateNotice.objects.create(
                empresa=empresa, valido_ate=empresa.certificado_valido_ate,
                threshold_days=threshold, created_at=now)
            event = event_record(
                tenant=empresa.tenant,
                type=(EventType.CERTIFICATE_EXPIRED if threshold == 0
                      else EventType.CERTIFICATE_EXPIRING),
                data={
                    "empresa_id": empresa.pk, "cnpj": empresa.cnpj, "cpf": empresa.cpf,
                    "nome": empresa.nome,
                    "certificado_valido_ate": empresa.certificado_valido_ate.isoformat(),
                    "days_left": threshold,
                },
                empresa=empresa, now=now,
            )
            notice.event = event
            notice.save(update_fields=["event"])
    except IntegrityError:
        return 0
    logger.info("certificate notice %s days for empresa %s", threshold, empresa.pk)
    return 1
