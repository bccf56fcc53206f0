from __future__ import annotations

import pytest

from tests.conftest import Actor


def test_every_answer_announces_the_tenants_budget_and_429_over_it(actor: Actor, other: Actor,
                                                                   settings) -> None:
    settings.FG_TENANT_RATE_LIMIT = 3
    answers = [actor.client.get("/api/v1/empresas") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a["Rate-Limit-Remaining"] for a in answers] == ["2", "1", "0"]
    assert answers[0]["Rate-Limit-Limit"] == "3"
    assert 1 <= int(answers[0]["Rate-Limit-Reset"]) <= 60

    native = actor.client.get("/api/v1/empresas")
    assert native.status_code == 429
    assert native.json()["code"] == "rate_limited"
    assert native["Retry-After"] and native["Rate-Limit-Remaining"] == "0"
    facade = actor.client.get("/v2/nfe/qualquer")
    assert facade.status_code == 429
    assert facade.json()["codigo"] == "limite_requisicoes"
    # another tenant has its own budget
    assert other.client.get("/api/v1/empresas").status_code == 200


def test_a_tenant_may_have_its_own_budget(actor: Actor, settings) -> None:
    settings.FG_TENANT_RATE_LIMIT = 1
    actor.tenant.rate_limit_per_minute = 5
    actor.tenant.save()
    codes = [actor.client.get("/api/v1/empresas").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


def test_an_unreachable_cache_never_refuses_a_tenant(actor: Actor, settings) -> None:
    settings.FG_TENANT_RATE_LIMIT = 1
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }}  # the settings fixture resets Django's cache handlers on change
    codes = [actor.client.get("/api/v1/empresas").status_code for _ in range(3)]
    assert codes == [200, 200, 200]


def test_a_counter_is_created_with_its_expiry_and_read_back_by_django() -> None:
    """core.cache.incr on Redis: one atomic round trip that writes the integer Django's own
    add/get use, with its expiry set when the counter is created, and a counter gone (expired)
    starts again at one."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    from core import cache as shared

    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        pytest.skip("the counters are in Redis in services mode only")
    client = backend._cache.get_client(write=True)
    name = backend.make_and_validate_key("fg:test-counter")
    assert [shared.incr("fg:test-counter", timeout=120) for _ in range(3)] == [1, 2, 3]
    assert backend.get("fg:test-counter") == 3
    assert 0 < client.ttl(name) <= 120
    # Later increments keep the expiry of the window's first one.
    client.expire(name, 30)
    assert shared.incr("fg:test-counter", timeout=120) == 4
    assert 0 < client.ttl(name) <= 30
    client.delete(name)  # as Redis does when the expiry passes
    assert shared.incr("fg:test-counter", timeout=120) == 1
    assert 0 < client.ttl(name) <= 120
