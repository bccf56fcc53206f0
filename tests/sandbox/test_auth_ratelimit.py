"""Authentication like Focus (Basic user name or ?token=), 415 for bad JSON, the rate limit."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from sandbox.server import SandboxServer
from tests.sandbox.helpers import nfe_payload


def test_basic_auth_with_the_token_as_user_name(acme: httpx.Client) -> None:
    assert acme.get("/v2/nfe/none").status_code == 404  # authenticated, just not found


def test_token_query_parameter(sandbox: SandboxServer) -> None:
    r = httpx.get(f"{sandbox.url}/v2/nfe/none", params={"token": "acme-hom"})
    assert r.status_code == 404


def test_wrong_or_missing_token_is_403(focus: Callable[..., httpx.Client]) -> None:
    for client in (focus("nope"), focus(None)):
        r = client.get("/v2/nfe/x")
        assert r.status_code == 403
        assert r.json()["codigo"] == "permissao_negada"


def test_unparseable_json_is_415(acme: httpx.Client) -> None:
    r = acme.post(
        "/v2/nfe",
        params={"ref": "j"},
        content=b'{"natureza_operacao": ',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 415
    assert set(r.json()) == {"codigo", "mensagem"}


def test_json_that_is_not_an_object_is_400(acme: httpx.Client) -> None:
    assert acme.post("/v2/nfe", params={"ref": "j"}, json=[1, 2]).status_code == 400


def test_rate_limit_headers_on_every_answer(acme: httpx.Client) -> None:
    first = acme.get("/v2/nfe/x")
    assert first.headers["Rate-Limit-Limit"] == "100"
    assert first.headers["Rate-Limit-Remaining"] == "99"
    assert 0 < int(first.headers["Rate-Limit-Reset"]) <= 60
    second = acme.post("/v2/nfe", params={"ref": "a"}, json=nfe_payload())
    assert second.headers["Rate-Limit-Remaining"] == "98"


def test_over_the_limit_is_429_until_the_window_resets(
    focus: Callable[..., httpx.Client], control: httpx.Client
) -> None:
    control.post("/config", json={"rate_limit": 5})
    acme, normal = focus("acme-hom"), focus("normal-hom")
    codes = [acme.get("/v2/nfe/x").status_code for _ in range(6)]
    assert codes == [404] * 5 + [429]
    over = acme.get("/v2/nfe/x")
    assert over.status_code == 429
    assert over.headers["Rate-Limit-Remaining"] == "0"
    assert int(over.headers["Rate-Limit-Reset"]) > 0
    # Budgets are per token.
    assert normal.get("/v2/nfe/x").status_code == 404
    control.post("/clock", json={"advance_seconds": 61})
    assert acme.get("/v2/nfe/x").status_code == 404


def test_rate_limit_counts_every_method_and_bad_tokens_separately(
    focus: Callable[..., httpx.Client], control: httpx.Client
) -> None:
    control.post("/config", json={"rate_limit": 2})
    bad = focus("bad")
    assert [bad.get("/v2/nfe/x").status_code for _ in range(3)] == [403, 403, 429]
    acme = focus("acme-hom")
    acme.post("/v2/nfe", params={"ref": "a"}, json=nfe_payload())
    acme.request("DELETE", "/v2/nfe/a", json={})
    assert acme.get("/v2/nfe/a").status_code == 429


def test_rate_limit_zero_disables_it(control: httpx.Client, acme: httpx.Client) -> None:
    control.post("/config", json={"rate_limit": 0})
    assert all(acme.get("/v2/nfe/x").status_code == 404 for _ in range(120))


def test_files_and_control_are_outside_the_budget(
    acme: httpx.Client, control: httpx.Client
) -> None:
    control.post("/config", json={"rate_limit": 2})
    acme.post("/v2/nfe", params={"ref": "f"}, json=nfe_payload())
    note = acme.get("/v2/nfe/f").json()
    for _ in range(5):
        assert acme.get(note["caminho_xml_nota_fiscal"]).status_code == 200
        assert control.get("/health").status_code == 200
