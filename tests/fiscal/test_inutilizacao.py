"""Inutilização through the facade (persisted first, Focus's answer shown), Focus's own
inutilizações reported by hook, and the native list/detail API. Against the sandbox over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fiscal.changes import ChangeType, FiscalChange
from fiscal.focus.client import reset_clients
from fiscal.models import FocusHook, Inutilizacao
from tenants.models import Empresa
from tests.conftest import OTHER_CNPJ, VALID_CNPJ, Actor
from tests.fiscal.conftest import HOMOLOG_TOKEN, Upstream

JUSTIFICATIVA = "Numeracao pulada por falha no sistema"
CHANGES: list[FiscalChange] = []


def record_change(change: FiscalChange) -> None:
    CHANGES.append(change)


@pytest.fixture
def changes(settings, upstream: Upstream) -> list[FiscalChange]:
    """Every FiscalChange published during the test (after the upstream fixture's reset)."""
    settings.FG_CHANGE_SUBSCRIBERS = ["tests.fiscal.test_inutilizacao.record_change"]
    CHANGES.clear()
    return CHANGES


def body(**overrides: object) -> dict:
    data: dict = {"cnpj": VALID_CNPJ, "serie": "1", "numero_inicial": "10",
                  "numero_final": "12", "justificativa": JUSTIFICATIVA}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def inutilizar(actor: Actor, doc_type: str = "nfe", **overrides: object):
    return actor.client.post(f"/v2/{doc_type}/inutilizacao", body(**overrides), format="json")


def registered(changes: list[FiscalChange]) -> list[FiscalChange]:
    return [c for c in changes if c.type == ChangeType.INUTILIZACAO_REGISTERED]


# --- asked by the tenant -------------------------------------------------------------------------

def test_nfe_inutilizacao_is_recorded_and_answers_focus_body(
    actor: Actor, other: Actor, empresa: Empresa, upstream: Upstream,
    changes: list[FiscalChange],
) -> None:
    response = inutilizar(actor)
    assert response.status_code == 200, response.content
    answer = response.json()
    row = Inutilizacao.objects.get()
    assert answer["status"] == "autorizado"
    assert answer["status_sefaz"] == "102"
    assert answer["mensagem_sefaz"] == "Inutilizacao de numero homologado"
    assert (answer["modelo"], answer["serie"]) == ("55", "1")
    assert (answer["numero_inicial"], answer["numero_final"]) == ("10", "12")
    assert answer["protocolo_sefaz"]
    # Our archive's path, not Focus's
    assert answer["caminho_xml"] == f"/v2/arquivos/inutilizacoes/{row.pk}/xml"

    assert row.tenant == actor.tenant and row.empresa == empresa
    assert row.environment == "homologacao" and row.source == Inutilizacao.Source.TENANT
    assert (row.modelo, row.serie, row.numero_inicial, row.numero_final) == ("55", "1", 10, 12)
    assert row.status == "autorizado" and row.status_sefaz == "102"
    assert row.protocolo == answer["protocolo_sefaz"]
    assert row.justificativa == JUSTIFICATIVA
    assert row.upstream["caminho_xml"].endswith("-inu.xml")  # Focus's path kept for the archive

    [change] = registered(changes)
    assert change.inutilizacao == row and change.tenant == actor.tenant
    assert change.data["caminho_xml"] == answer["caminho_xml"]

    detail = actor.client.get(f"/api/v1/inutilizacoes/{row.pk}")
    assert detail.status_code == 200
    assert detail.json()["caminho_xml"] == answer["caminho_xml"]
    hidden = other.client.get(f"/api/v1/inutilizacoes/{row.pk}")
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "not_found"


def test_nfce_inutilizacao_is_modelo_65(actor: Actor, empresa: Empresa,
                                        upstream: Upstream) -> None:
    response = inutilizar(actor, "nfce", numero_inicial="1", numero_final="1")
    assert response.status_code == 200, response.content
    assert response.json()["modelo"] == "65"
    assert Inutilizacao.objects.get().modelo == "65"


def test_a_range_already_voided_is_answered_256_and_recorded_as_erro_autorizacao(
    actor: Actor, empresa: Empresa, upstream: Upstream, changes: list[FiscalChange]
) -> None:
    assert inutilizar(actor).json()["status"] == "autorizado"
    response = inutilizar(actor, numero_inicial="12", numero_final="13")
    assert response.status_code == 200
    assert response.json() == {
        "status_sefaz": "256",
        "mensagem_sefaz": "Uma NF-e da faixa ja esta inutilizada na Base de dados da SEFAZ",
        "serie": "1", "numero_inicial": "12", "numero_final": "13",
        "status": "erro_autorizacao",
    }
    refused = Inutilizacao.objects.get(numero_inicial=12)
    assert refused.status == "erro_autorizacao" and refused.status_sefaz == "256"
    assert len(registered(changes)) == 1  # only the voided range is published


def test_sefaz_rejection_codes_pass_through(actor: Actor, empresa: Empresa,
                                            upstream: Upstream) -> None:
    response = inutilizar(actor, justificativa="SANDBOX:REJEITAR:241")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["status_sefaz"]) == (
        "erro_autorizacao", "241")
    assert Inutilizacao.objects.get().status == "erro_autorizacao"


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"cnpj": None}, "cnpj"),
        ({"serie": None}, "serie"),
        ({"numero_inicial": None}, "numero_inicial"),
        ({"numero_final": ""}, "numero_final"),
        ({"justificativa": None}, "justificativa"),
        ({"justificativa": "curta demais"}, "justificativa"),
        ({"justificativa": "x" * 256}, "justificativa"),
        ({"cnpj": "11222333000100"}, "cnpj"),
        ({"serie": "A"}, "serie"),
        ({"numero_inicial": "0"}, "numero_inicial"),
        ({"numero_inicial": "20", "numero_final": "19"}, "numero_final"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    actor: Actor, empresa: Empresa, upstream: Upstream, overrides: dict, field: str
) -> None:
    response = inutilizar(actor, **overrides)
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["codigo"] == "requisicao_invalida"
    assert field in answer["mensagem"]
    assert answer["erros"][0]["campo"] == field
    assert not Inutilizacao.objects.exists()


def test_another_tenants_company_or_an_unknown_cnpj_is_permissao_negada(
    actor: Actor, other: Actor, empresa: Empresa, make_empresa, upstream: Upstream
) -> None:
    make_empresa(other.tenant, cnpj=OTHER_CNPJ)
    for cnpj in (OTHER_CNPJ, "44555666000181"):
        response = inutilizar(actor, cnpj=cnpj)
        assert response.status_code == 403
        assert response.json()["codigo"] == "permissao_negada"
    # the other tenant cannot void the actor's numbers either
    assert inutilizar(other, cnpj=VALID_CNPJ).status_code == 403
    assert not Inutilizacao.objects.exists()


def test_company_not_enabled_for_the_type_is_refused(actor: Actor, make_empresa,
                                                     upstream: Upstream) -> None:
    make_empresa(actor.tenant, habilita_nfce=False)
    response = inutilizar(actor, "nfce")
    assert response.status_code == 400
    assert response.json()["codigo"] == "empresa_nao_habilitada"
    assert not Inutilizacao.objects.exists()


def test_focus_refusal_is_passed_on_and_the_row_marked_erro(
    actor: Actor, make_empresa, upstream: Upstream
) -> None:
    # Our company, but the Focus token belongs to another CNPJ: Focus itself refuses.
    make_empresa(actor.tenant, cnpj=OTHER_CNPJ, token_homologacao=HOMOLOG_TOKEN)
    response = inutilizar(actor, cnpj=OTHER_CNPJ)
    assert response.status_code == 403
    assert response.json() == {"codigo": "permissao_negada",
                               "mensagem": "CNPJ do emitente não autorizado."}
    row = Inutilizacao.objects.get()
    assert row.status == "erro" and row.upstream["http_status"] == 403


# --- ambiguous and failed calls ------------------------------------------------------------------

@pytest.mark.parametrize(
    "mode,voided",
    [
        ("accept_then_hang", True),  # SEFAZ voided it, the answer was lost
        ("hang", False),  # nothing processed, no answer
        ("5xx", False),  # 5xx after sending: Focus may or may not have it
        ("reset", False),
        ("malformed_json", True),  # processed, answer unreadable
    ],
)
def test_ambiguous_call_answers_202_keeps_the_row_pending_and_never_reposts(
    actor: Actor, empresa: Empresa, upstream: Upstream, settings, changes: list[FiscalChange],
    mode: str, voided: bool,
) -> None:
    settings.FG_OPERATION_INLINE_TIMEOUT = 0.5
    upstream.fault(mode, count=1, methods=["POST"], path_prefix="/v2/nfe/inutilizacao",
                   hang_seconds=3)
    response = inutilizar(actor)
    assert response.status_code == 202, response.content
    answer = response.json()
    row = Inutilizacao.objects.get()
    assert answer["status"] == "processando_autorizacao"
    assert answer["id"] == row.pk and f"/api/v1/inutilizacoes/{row.pk}" in answer["mensagem"]
    assert (answer["serie"], answer["numero_inicial"], answer["numero_final"]) == ("1", "10",
                                                                                  "12")
    assert row.status == "pendente" and row.in_doubt and row.upstream["gateway"]["sent"] is True
    assert actor.client.get(f"/api/v1/inutilizacoes/{row.pk}").json()["in_doubt"] is True
    # Nothing was sent again on its own: Focus holds the range only if the faulted POST landed.
    with upstream.server.store.lock:
        assert len(upstream.server.store.inutilizacoes) == (1 if voided else 0)
    assert not registered(changes)

    # The tenant sends the range again: SEFAZ's answer decides, never a second voiding.
    again = inutilizar(actor)
    assert again.status_code == 200
    expected = ("erro_autorizacao", "256") if voided else ("autorizado", "102")
    assert (again.json()["status"], again.json()["status_sefaz"]) == expected
    assert Inutilizacao.objects.count() == 2
    assert Inutilizacao.objects.get(pk=row.pk).status == "pendente"  # until the hook says


def test_focus_unreachable_is_503_and_nothing_is_pending(
    actor: Actor, empresa: Empresa, upstream: Upstream, settings
) -> None:
    settings.FOCUS_URL_HOMOLOGACAO = "http://127.0.0.1:1"  # nothing listens there
    reset_clients()
    response = inutilizar(actor)
    assert response.status_code == 503
    assert response.json()["codigo"] == "servico_indisponivel"
    row = Inutilizacao.objects.get()
    assert row.status == "erro" and row.upstream["gateway"]["sent"] is False


def test_rate_limited_by_focus_is_429_with_retry_after(
    actor: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    upstream.fault("429", count=1, methods=["POST"], path_prefix="/v2/nfe/inutilizacao")
    response = inutilizar(actor)
    assert response.status_code == 429
    assert response.json()["codigo"] == "limite_requisicoes"
    assert int(response["Retry-After"]) >= 1
    assert Inutilizacao.objects.get().status == "erro"


# --- reported by Focus (hook) --------------------------------------------------------------------

def focus_hook(empresa: Empresa) -> FocusHook:
    return FocusHook.objects.create(empresa=empresa, environment="homologacao",
                                    event="inutilizacao", secret=HOOK_SECRET, focus_id="h1",
                                    token_fingerprint=empresa.token_homologacao_fingerprint)


HOOK_SECRET = "hook-secret"


def deliver(hook: FocusHook, payload: dict, secret: str | None = None):
    return Client().post(f"/focus/hooks/{hook.pk}", payload, content_type="application/json",
                         HTTP_AUTHORIZATION=secret or HOOK_SECRET)


HOOK_BODY = {
    "status_sefaz": "102", "mensagem_sefaz": "Inutilizacao de numero homologado",
    "serie": "1", "numero_inicial": "30", "numero_final": "31", "modelo": "55",
    "cnpj": VALID_CNPJ, "status": "autorizado",
    "caminho_xml": "/arquivos_development/11222333000181/202611/XMLs/x-inu.xml",
    "protocolo_sefaz": "135260000000001",
}


def test_focus_reported_inutilizacao_is_recorded_once(
    actor: Actor, other: Actor, empresa: Empresa, upstream: Upstream,
    changes: list[FiscalChange],
) -> None:
    hook = focus_hook(empresa)
    assert deliver(hook, HOOK_BODY, secret="wrong").status_code == 403
    for _ in range(2):  # Focus repeats deliveries
        response = deliver(hook, HOOK_BODY)
        assert response.status_code == 200, response.content
    row = Inutilizacao.objects.get()
    assert row.source == Inutilizacao.Source.FOCUS and row.status == "autorizado"
    assert row.tenant == actor.tenant and row.environment == "homologacao"
    assert (row.modelo, row.serie, row.numero_inicial, row.numero_final) == ("55", "1", 30, 31)
    assert row.protocolo == "135260000000001"
    [change] = registered(changes)
    assert change.data["caminho_xml"] == f"/v2/arquivos/inutilizacoes/{row.pk}/xml"
    hook.refresh_from_db()
    assert hook.last_received_at is not None

    listed = actor.client.get("/api/v1/inutilizacoes?source=focus").json()["results"]
    assert [r["id"] for r in listed] == [row.pk]
    assert other.client.get("/api/v1/inutilizacoes").json()["results"] == []


def test_hook_settles_a_pending_request_of_the_tenant(
    actor: Actor, empresa: Empresa, upstream: Upstream, settings, changes: list[FiscalChange]
) -> None:
    settings.FG_OPERATION_INLINE_TIMEOUT = 0.5
    upstream.fault("accept_then_hang", count=1, methods=["POST"],
                   path_prefix="/v2/nfe/inutilizacao", hang_seconds=3)
    assert inutilizar(actor, numero_inicial="30", numero_final="31").status_code == 202
    pending = Inutilizacao.objects.get()
    hook = focus_hook(empresa)
    assert deliver(hook, HOOK_BODY).status_code == 200
    assert deliver(hook, HOOK_BODY).status_code == 200
    pending.refresh_from_db()
    assert Inutilizacao.objects.count() == 1  # the tenant's row, not a second one
    assert pending.source == Inutilizacao.Source.TENANT
    assert pending.status == "autorizado" and pending.protocolo == "135260000000001"
    assert len(registered(changes)) == 1


def test_hook_without_a_readable_range_is_acknowledged_and_ignored(
    empresa: Empresa, upstream: Upstream
) -> None:
    hook = focus_hook(empresa)
    assert deliver(hook, {"status": "autorizado", "serie": "x"}).status_code == 200
    assert not Inutilizacao.objects.exists()


# --- native API ----------------------------------------------------------------------------------

def make_row(empresa: Empresa, numero: int, **fields: object) -> Inutilizacao:
    values: dict = {"tenant": empresa.tenant, "empresa": empresa, "environment": "homologacao",
                    "modelo": "55", "serie": "1", "numero_inicial": numero,
                    "numero_final": numero, "status": "autorizado"}
    values.update(fields)
    return Inutilizacao.objects.create(**values)


def test_list_filters_and_isolation(actor: Actor, other: Actor, empresa: Empresa,
                                    make_empresa) -> None:
    second = make_empresa(actor.tenant, cnpj=OTHER_CNPJ)
    a = make_row(empresa, 1)
    b = make_row(empresa, 2, modelo="65", status="erro_autorizacao")
    c = make_row(second, 3, source="focus")
    theirs = make_row(make_empresa(other.tenant), 4)
    Inutilizacao.objects.filter(pk=a.pk).update(created_at=timezone.now() - timedelta(days=3))

    def ids(query: str = "") -> list[int]:
        response = actor.client.get(f"/api/v1/inutilizacoes{query}")
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    assert ids() == [c.pk, b.pk, a.pk]
    assert ids(f"?empresa={second.pk}") == [c.pk]
    assert ids("?status=erro_autorizacao") == [b.pk]
    assert ids("?source=focus") == [c.pk]
    assert ids("?modelo=65") == [b.pk]
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"?created_from={since}") == [c.pk, b.pk]
    assert ids(f"?created_to={since}") == [a.pk]
    assert theirs.pk not in ids()
    assert actor.client.get("/api/v1/inutilizacoes?modelo=99").status_code == 400
    assert other.client.get(f"/api/v1/inutilizacoes/{a.pk}").status_code == 404


def test_list_is_paginated_with_a_constant_number_of_queries(
    actor: Actor, empresa: Empresa, make_empresa
) -> None:
    second = make_empresa(actor.tenant, cnpj=OTHER_CNPJ)
    for numero in range(1, 4):
        make_row(empresa, numero)
    actor.client.get("/api/v1/inutilizacoes")  # the key's last_used_at is written on first use
    with CaptureQueriesContext(connection) as few:
        assert len(actor.client.get("/api/v1/inutilizacoes").json()["results"]) == 3
    for numero in range(4, 30):
        make_row(second if numero % 2 else empresa, numero)
    with CaptureQueriesContext(connection) as many:
        page = actor.client.get("/api/v1/inutilizacoes?limit=10").json()
    assert len(page["results"]) == 10 and page["next"]
    assert len(many) == len(few)
    rest = actor.client.get(page["next"]).json()
    assert len(rest["results"]) == 10
