from __future__ import annotations

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
