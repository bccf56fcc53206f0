"""A claim changes a row only while it still matches: the second of two takers gets nothing."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from core.claims import claim
from tenants.models import ApiKey
from tests.conftest import Actor


def test_the_first_claim_wins_and_the_second_changes_nothing(actor: Actor) -> None:
    pk = actor.key.api_key.pk
    first, second = timezone.now(), timezone.now() + timedelta(minutes=5)
    assert claim(ApiKey, pk, where={"revoked_at": None}, revoked_at=first) is True
    assert claim(ApiKey, pk, where={"revoked_at": None}, revoked_at=second) is False
    assert ApiKey.objects.get(pk=pk).revoked_at == first


def test_a_claim_stays_inside_its_queryset(actor: Actor, other: Actor) -> None:
    others_keys = ApiKey.objects.filter(tenant=other.tenant)
    assert claim(others_keys, actor.key.api_key.pk, revoked_at=timezone.now()) is False
    assert ApiKey.objects.get(pk=actor.key.api_key.pk).revoked_at is None
    assert claim(others_keys, other.key.api_key.pk, revoked_at=timezone.now()) is True


def test_a_claim_on_a_row_that_is_gone_is_refused(actor: Actor) -> None:
    pk = actor.key.api_key.pk
    ApiKey.objects.filter(pk=pk).delete()
    assert claim(ApiKey, pk, revoked_at=timezone.now()) is False
