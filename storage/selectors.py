"""Reads of the archive. Every selector takes the tenant (and the key's environment)."""

from __future__ import annotations

from datetime import date

from django.db.models import F, QuerySet
from django.shortcuts import get_object_or_404

from fiscal.models import Note
from storage.models import Artifact, ArtifactState
from tenants.models import Empresa, Tenant


def artifact_list_for_note(*, tenant: Tenant, note: Note) -> QuerySet[Artifact]:
    return Artifact.objects.filter(tenant=tenant, note=note)


def artifact_get(*, tenant: Tenant, environment: str, pk: int | str) -> Artifact:
    return get_object_or_404(
        Artifact.objects.select_related("empresa"), tenant=tenant, environment=environment, pk=pk
    )


def artifacts_for_month(
    *, tenant: Tenant, environment: str, empresa: Empresa, period: date
) -> QuerySet[Artifact]:
    """A company's files of one month (by authorization date), in key order."""
    return Artifact.objects.filter(
        tenant=tenant, environment=environment, empresa=empresa, period=period
    ).order_by("key")


def artifacts_to_verify(*, limit: int | None = None) -> QuerySet[Artifact]:
    """Archived files, never verified first, then the least recently verified."""
    qs = Artifact.objects.filter(state=ArtifactState.ARCHIVED).order_by(
        F("verified_at").asc(nulls_first=True), "id"
    )
    return qs[:limit] if limit else qs
