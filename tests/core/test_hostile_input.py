"""Hostile input: values no part of the gateway can store, bodies of the wrong kind, absurd
numbers in the query string, refs outside the alphabet. Each is a 4xx in the API's own shape
and writes nothing (no row, and the sandbox never sees a POST)."""

from __future__ import annotations

import pytest

from fiscal.models import FiscalEvent, Inutilizacao, Note, NoteEvent, NoteStatus
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream, drive
from tests.sandbox.helpers import nfce_payload, nfe_payload

JUSTIFICATIVA = "Cancelamento por erro de digitação no pedido"


def rows() -> dict[str, int]:
    return {
        "notes": Note.objects.count(),
        "note_events": NoteEvent.objects.count(),
        "fiscal_events": FiscalEvent.objects.count(),
        "inutilizacoes": Inutilizacao.objects.count(),
        "empresas": Empresa.objects.count(),
    }


def upstream_posts(upstream: Upstream) -> int:
    return upstream.control.get("/counters").json()["totals"]["posts"]


def assert_focus_error(response, status: int, codigo: str = "requisicao_invalida") -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["codigo"] == codigo and body["mensagem"], body


def assert_native_error(response, status: int) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["message"], body


def raw_post(actor: Actor, path: str, raw: str, method: str = "post"):  # type: ignore[no-untyped-def]
    return getattr(actor.client, method)(path, raw.encode("utf-8", "surrogatepass"),
                                         content_type="application/json")


def json_with(payload: dict, field: str, raw_value: str) -> str:
    """The payload as JSON text with ``field`` replaced by ``raw_value`` written verbatim."""
    import json

    text = json.dumps({**payload, field: "__HOSTILE__"})
    return text.replace('"__HOSTILE__"', raw_value)


# --- note payloads ------------------------------------------------------------------------------

@pytest.mark.parametrize("raw_value", [
    '"Remessa\\u0000"',  # NUL inside a string: Postgres text and jsonb refuse it
    '"Remessa \\ud800"',  # a lone surrogate: not encodable as UTF-8
    "1e400",  # Infinity
    "-1e400",
    "NaN",
    "Infinity",
])
@pytest.mark.parametrize("api", ["facade", "native"])
def test_an_unstorable_value_in_a_body_is_refused_and_nothing_is_written(
    actor: Actor, empresa: Empresa, upstream: Upstream, raw_value: str, api: str,
) -> None:
    before, posts = rows(), upstream_posts(upstream)
    if api == "facade":
        response = raw_post(actor, "/v2/nfe?ref=hostil-1",
                            json_with(nfe_payload(VALID_CNPJ), "natureza_operacao", raw_value))
        assert_focus_error(response, 400)
    else:
        response = raw_post(actor, "/api/v1/empresas",
                            json_with({"cnpj": "12ABC34501DE35", "uf": "SP"}, "nome", raw_value))
        assert_native_error(response, 400)
        assert response.json()["code"] == "invalid_json_value"
    assert rows() == before and upstream_posts(upstream) == posts


def test_a_nul_in_a_key_is_refused_too(actor: Actor, empresa: Empresa,
                                       upstream: Upstream) -> None:
    before = rows()
    raw = json_with(nfe_payload(VALID_CNPJ), "extra", "1").replace('"extra"', '"ex\\u0000tra"')
    assert_focus_error(raw_post(actor, "/v2/nfe?ref=hostil-2", raw), 400)
    assert rows() == before and upstream_posts(upstream) == 0


def test_syntax_errors_stay_focus_415(actor: Actor, empresa: Empresa) -> None:
    before = rows()
    assert_focus_error(raw_post(actor, "/v2/nfe?ref=hostil-3", '{"natureza_operacao": '), 415)
    assert rows() == before


# --- refs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("ref", ["ação-1", "a b", "a/b", "a%00b", "ref\u200b", "x" * 101, "ǅ",
                                 ".", "..", "a\x00b"])
def test_a_ref_outside_the_route_alphabet_is_refused_at_the_post(
    actor: Actor, empresa: Empresa, upstream: Upstream, ref: str,
) -> None:
    from urllib.parse import quote

    before = rows()
    response = actor.client.post(f"/v2/nfe?ref={quote(ref)}", nfe_payload(VALID_CNPJ),
                                 format="json")
    assert_focus_error(response, 400)
    assert rows() == before and upstream_posts(upstream) == 0


def test_every_ref_the_post_accepts_is_reachable_by_get_and_delete(
    actor: Actor, empresa: Empresa, upstream: Upstream,
) -> None:
    ref = "Az09_.-x"
    response = actor.client.post(f"/v2/nfe?ref={ref}", nfe_payload(VALID_CNPJ), format="json")
    assert response.status_code in (201, 202), response.content
    drive(Note.objects.get(ref=ref), upstream=upstream)
    assert actor.client.get(f"/v2/nfe/{ref}").json()["status"] == NoteStatus.AUTORIZADO
    cancel = actor.client.delete(f"/v2/nfe/{ref}", {"justificativa": JUSTIFICATIVA},
                                 format="json")
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelado"


# --- operations ---------------------------------------------------------------------------------

@pytest.fixture
def authorized_nfce(actor: Actor, empresa: Empresa, upstream: Upstream) -> Note:
    response = actor.client.post("/v2/nfce?ref=op-1", nfce_payload(VALID_CNPJ), format="json")
    assert response.status_code in (200, 201, 202), response.content
    note = drive(Note.objects.get(ref="op-1"), upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    return note


@pytest.mark.parametrize("raw", ["[1]", '"cancelar"', "1", "null", "true"])
def test_a_cancel_body_that_is_not_an_object_is_refused(actor: Actor, authorized_nfce: Note,
                                                        raw: str) -> None:
    before = rows()
    response = raw_post(actor, "/v2/nfce/op-1", raw, method="delete")
    # JSON null is no body at all: then the NFCe's own word for the missing justificativa.
    assert_focus_error(response, 400, "justificativa_nao_informada" if raw == "null"
                       else "requisicao_invalida")
    assert rows() == before
    authorized_nfce.refresh_from_db()
    assert authorized_nfce.status == NoteStatus.AUTORIZADO


@pytest.mark.parametrize("path,method,field,raw_value", [
    ("/v2/nfce/op-1", "delete", "justificativa", '"Cancelamento por erro\\u0000 de digitação"'),
    ("/v2/nfce/op-1/email", "post", "emails", '["cliente\\u0000@example.com"]'),
    ("/v2/nfce/op-1/email", "post", "emails", '["cliente\\udfff@example.com"]'),
])
def test_a_nul_in_an_operation_is_refused(actor: Actor, authorized_nfce: Note, path: str,
                                          method: str, field: str, raw_value: str) -> None:
    before = rows()
    raw = json_with({"justificativa": JUSTIFICATIVA} if field != "justificativa" else {},
                    field, raw_value)
    assert_focus_error(raw_post(actor, path, raw, method=method), 400)
    assert rows() == before


def test_a_nul_in_a_cancel_justificativa_in_the_query_string_is_refused(
    actor: Actor, authorized_nfce: Note,
) -> None:
    before = rows()
    response = actor.client.delete("/v2/nfce/op-1?justificativa=Cancelamento%00por%20erro%20x")
    assert_focus_error(response, 400)
    assert rows() == before


def test_a_nul_in_an_inutilizacao_justificativa_is_refused(actor: Actor, empresa: Empresa,
                                                           upstream: Upstream) -> None:
    before = rows()
    body = {"cnpj": VALID_CNPJ, "serie": "1", "numero_inicial": "10", "numero_final": "12"}
    raw = json_with(body, "justificativa", '"Numeracao pulada\\u0000 por falha"')
    assert_focus_error(raw_post(actor, "/v2/nfe/inutilizacao", raw), 400)
    assert rows() == before


# --- query-string integers ----------------------------------------------------------------------

HUGE = "1" + "0" * 30


@pytest.mark.parametrize("query", [f"offset={HUGE}", f"offset=-{HUGE}", "offset=1e3",
                                   "offset=abc", "offset=%00"])
def test_facade_empresas_pagination_numbers(actor: Actor, empresa: Empresa, query: str) -> None:
    response = actor.client.get(f"/v2/empresas?{query}")
    assert_focus_error(response, 400)


def test_facade_empresas_offset_in_range_still_works(actor: Actor, empresa: Empresa) -> None:
    assert actor.client.get("/v2/empresas?offset=0").json()[0]["cnpj"] == VALID_CNPJ
    assert actor.client.get("/v2/empresas?offset=50").json() == []


@pytest.mark.parametrize("path", [
    f"/api/v1/notes?limit={HUGE}", f"/api/v1/notes?limit=-{HUGE}", "/api/v1/notes?limit=abc",
    "/api/v1/notes?limit=0", "/api/v1/notes?limit=1e3", "/api/v1/notes?limit=201",
    f"/api/v1/empresas?limit={HUGE}", f"/api/v1/fiscal-events?limit={HUGE}",
    f"/api/v1/inutilizacoes?limit={HUGE}", f"/api/v1/webhook-deliveries?limit={HUGE}",
    f"/api/v1/events?limit={HUGE}", f"/api/v1/events?after={HUGE}",
    "/api/v1/notes?empresa=%00",
])
def test_native_pagination_numbers_out_of_range_are_400(actor: Actor, empresa: Empresa,
                                                        path: str) -> None:
    assert_native_error(actor.client.get(path), 400)


@pytest.mark.parametrize("cursor", [HUGE, "bz0xMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA%3D", "%00"])
def test_a_forged_cursor_is_never_a_500(actor: Actor, empresa: Empresa, cursor: str) -> None:
    # DRF refuses what it cannot decode (404 "Invalid cursor") and caps a decoded offset.
    response = actor.client.get(f"/api/v1/notes?cursor={cursor}")
    assert response.status_code in (200, 400, 404), response.content
    assert response.status_code == 200 or set(response.json()) == {"code", "message", "fields"}


@pytest.mark.parametrize("month", ["0000-01", "0000-12", "10000-01", "2026-13", "2026-00", "x"])
def test_archive_month_out_of_range(actor: Actor, empresa: Empresa, month: str) -> None:
    response = actor.client.get(f"/api/v1/empresas/{empresa.pk}/archive.zip?month={month}")
    assert_native_error(response, 400)


@pytest.mark.parametrize("path", [
    f"/v2/empresas/{HUGE}", f"/v2/arquivos/{HUGE}/xml", f"/api/v1/empresas/{HUGE}",
    f"/api/v1/notes/{HUGE}", f"/api/v1/artifacts/{HUGE}/download",
    f"/api/v1/webhook-deliveries/{HUGE}", f"/api/v1/inutilizacoes/{HUGE}",
    f"/api/v1/events/{HUGE}", f"/api/v1/empresas/{HUGE}/archive.zip?month=2026-01",
])
def test_ids_past_a_bigint_in_the_path_are_404_in_shape(actor: Actor, path: str) -> None:
    response = actor.client.get(path)
    if path.startswith("/v2/"):
        assert_focus_error(response, 404, "nao_encontrado")
    else:
        assert_native_error(response, 404)


@pytest.mark.parametrize("path", ["/v2/empresas?cnpj=%00", "/v2/nfe/ref-1?completa=1%00",
                                  "/api/v1/notes?status=%00", "/api/v1/empresas?%00=1"])
def test_a_nul_anywhere_in_the_query_string_is_400_in_shape(actor: Actor, path: str) -> None:
    response = actor.client.get(path)
    if path.startswith("/v2/"):
        assert_focus_error(response, 400)
    else:
        assert_native_error(response, 400)
