"""Reads of tenant-owned objects. Every selector takes the tenant: nothing crosses tenants."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from core.documents import normalize
from tenants.models import ApiKey, Empresa, Tenant


def empresa_list(*, tenant: Tenant, cnpj: str | None = None, cpf: str | None = None,
                 active: bool | None = None) -> QuerySet[Empresa]:
    qs = Empresa.objects.filter(tenant=tenant)
    # Stored normalised (core.documents.normalize): "12.abc.345/01de-35" finds 12ABC34501DE35,
    # as Focus's own filters ignore the punctuation.
    if cnpj:
        qs = qs.filter(cnpj=normalize(cnpj))
    if cpf:
        qs = qs.filter(cpf=normalize(cpf))
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def empresa_get(*, tenant: Tenant, pk: int | str) -> Empresa:
    # Another tenant's company is a 404, never a 403: its existence is not revealed.
    return get_object_or_404(Empresa, tenant=tenant, pk=pk)


def api_key_list(*, tenant: Tenant, environment: str) -> QuerySet[ApiKey]:
    # A key sees only the keys of its own environment: a test key never learns of, nor
    # revokes, a live one (and a live key leaves the test keys to the test side).
    return ApiKey.objects.filter(tenant=tenant, environment=environment)


def api_key_get(*, tenant: Tenant, environment: str, pk: int | str) -> ApiKey:
    return get_object_or_404(api_key_list(tenant=tenant, environment=environment), pk=pk)
