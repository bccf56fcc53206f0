"""Reads across every tenant for the scrape (operators' view, like the staff console's).

What the staff console already reads (pending notes by next action, stuck notes, the archive
backlog) is read through its own selectors in config/console.py; only what it lacks is here.
Each function is one query whatever the number of rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Min, Q

from tenants.models import Empresa
from webhooks.models import Endpoint

# Buckets of fg_certificates_expiring{within_days}: 0 counts the certificates already expired.
CERTIFICATE_WINDOWS_DAYS = (0, 7, 15, 30)


def disabled_endpoints_count() -> int:
    return Endpoint.objects.filter(deleted_at=None, is_active=False).count()


def certificates_expiring(*, now: datetime) -> tuple[dict[int, int], datetime | None]:
    """Active companies whose certificate ends within each window, and the soonest end."""
    windows = {
        f"within_{days}": Count(
            "id", filter=Q(certificado_valido_ate__lte=now + timedelta(days=days))
        )
        for days in CERTIFICATE_WINDOWS_DAYS
    }
    row = Empresa.objects.filter(
        is_active=True, certificado_valido_ate__isnull=False
    ).aggregate(soonest=Min("certificado_valido_ate"), **windows)
    return (
        {days: row[f"within_{days}"] for days in CERTIFICATE_WINDOWS_DAYS},
        row["soonest"],
    )
