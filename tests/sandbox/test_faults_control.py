"""Fault injection and the rest of the control API (config, counters, reset, clock)."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from sandbox.server import SandboxServer
from tests.sandbox.helpers import ACME, counters, nfe_payload, wait_until


def test_5xx_before_processing_creates_nothing(acme: httpx.Client, control: httpx.Client) -> None:
    control.post(
        "/faults", json={"mode": "5xx", "count": 1, "methods": ["POST"], "path_prefix": "/v2/nfe"}
    )
    r = acme.post("/v2/nfe", params={"ref": "f"}, json=nfe_payload())
    assert r.status_code == 500
    assert r.json()["codigo"] == "erro_interno"
    assert acme.get("/v2/nfe/f").status_code == 404
    assert counters(control, "f") == {
        "token": "acme-hom",
        "doc_type": "nfe",
        "ref": "f",
        "posts": 1,
        "documents_created": 0,
        "contingency_documents": 0,
        "duplicates": 0,
    }
    # count=1: the next one goes through.
    assert acme.post("/v2/nfe", params={"ref": "f"}, json=nfe_payload()).status_code == 202


def test_5xx_after_commit(acme: httpx.Client, control: httpx.Client) -> None:
    control.post("/faults", json={"mode": "5xx", "count": 1, "commit": True, "status": 502})
    r = acme.post("/v2/nfe", params={"ref": "f"}, json=nfe_payload())
    assert r.status_code == 502
    assert acme.get("/v2/nfe/f").json()["status"] == "autorizado"


def test_injected_429(acme: httpx.Client, control: httpx.Client) -> None:
    control.post("/faults", json={"mode": "429", "count": 1})
    r = acme.get("/v2/nfe/x")
    assert r.status_code == 429
    assert r.headers["Rate-Limit-Remaining"] == "0" and r.headers["Rate-Limit-Reset"]


def test_injected_429_may_name_its_own_reset(acme: httpx.Client, control: httpx.Client) -> None:
    control.post("/faults", json={"mode": "429", "count": 1, "reset_seconds": 7})
    r = acme.get("/v2/nfe/x")
    assert r.status_code == 429 and r.headers["Rate-Limit-Reset"] == "7"


def test_reset_closes_the_connection_without_an_answer(
    acme: httpx.Client, control: httpx.Client
) -> None:
    control.post("/faults", json={"mode": "reset", "count": 1})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
        acme.post("/v2/nfe", params={"ref": "r"}, json=nfe_payload())
    assert acme.get("/v2/nfe/r").status_code == 404


def test_reset_is_a_tcp_rst(sandbox: SandboxServer, control: httpx.Client) -> None:
    control.post("/faults", json={"mode": "reset", "count": 1})
    host, port = sandbox.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /v2/nfe/x HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            sock.recv(1024)


def test_hang_blocks_past_the_client_timeout_without_blocking_others(
    sandbox: SandboxServer, control: httpx.Client, acme: httpx.Client
) -> None:
    control.post(
        "/faults", json={"mode": "hang", "count": 1, "hang_seconds": 3, "methods": ["POST"]}
    )
    import threading

    outcome: dict[str, object] = {}

    def hanging() -> None:
        # The client's timeout is part of what is shown, so it is waited out: 0.5 s, well under
        # the 3 s hang and well over a loopback answer.
        with httpx.Client(base_url=sandbox.url, auth=("acme-hom", ""), timeout=0.5) as c:
            try:
                c.post("/v2/nfe", params={"ref": "h"}, json=nfe_payload())
            except httpx.TimeoutException as exc:
                outcome["timeout"] = exc

    thread = threading.Thread(target=hanging)
    thread.start()
    # The hanging request is being held (its rule fired) before the other one is sent.
    wait_until(lambda: control.get("/faults").json()["faults"][0]["fired"] == 1)
    started = time.monotonic()
    assert acme.get("/v2/nfe/other").status_code == 404  # not blocked by the hanging request
    assert time.monotonic() - started < 0.5
    thread.join()
    assert "timeout" in outcome
    assert acme.get("/v2/nfe/h").status_code == 404  # plain hang: nothing committed


def test_accept_then_hang_commits_the_note(
    acme: httpx.Client, control: httpx.Client, sandbox: SandboxServer
) -> None:
    control.post(
        "/faults",
        json={
            "mode": "accept_then_hang",
            "count": 1,
            "hang_seconds": 2,
            "methods": ["POST"],
            "path_prefix": "/v2/nfe",
        },
    )
    with (
        httpx.Client(base_url=sandbox.url, auth=("acme-hom", ""), timeout=0.5) as short,
        pytest.raises(httpx.TimeoutException),
    ):
        short.post("/v2/nfe", params={"ref": "ath"}, json=nfe_payload())
    # The client saw a timeout, yet the note exists: read before re-posting.
    assert acme.get("/v2/nfe/ath").json()["status"] == "autorizado"
    again = acme.post("/v2/nfe", params={"ref": "ath"}, json=nfe_payload())
    assert again.status_code == 422
    assert counters(control, "ath") == {
        "token": "acme-hom",
        "doc_type": "nfe",
        "ref": "ath",
        "posts": 2,
        "documents_created": 1,
        "contingency_documents": 0,
        "duplicates": 0,
    }


def test_malformed_json_keeps_the_status_and_commits(
    acme: httpx.Client, control: httpx.Client
) -> None:
    control.post("/faults", json={"mode": "malformed_json", "count": 1, "methods": ["POST"]})
    r = acme.post("/v2/nfe", params={"ref": "m"}, json=nfe_payload())
    assert r.status_code == 202
    with pytest.raises(ValueError):
        r.json()
    assert acme.get("/v2/nfe/m").json()["status"] == "autorizado"


def test_fraction_and_filters(acme: httpx.Client, control: httpx.Client) -> None:
    control.post(
        "/faults",
        json={"mode": "5xx", "fraction": 1.0, "methods": ["GET"], "path_prefix": "/v2/nfse"},
    )
    assert acme.get("/v2/nfe/x").status_code == 404
    assert acme.get("/v2/nfse/x").status_code == 500
    assert control.get("/faults").json()["faults"][0]["fired"] == 1
    control.delete("/faults")
    assert acme.get("/v2/nfse/x").status_code == 404
    control.post("/faults", json={"mode": "5xx", "fraction": 0.0})
    assert acme.get("/v2/nfse/x").status_code == 404


def test_fault_validation(control: httpx.Client) -> None:
    assert control.post("/faults", json={"mode": "explode"}).status_code == 400
    assert control.post("/faults", json={"mode": "5xx", "fraction": 2}).status_code == 400


def test_faults_list_applies_in_order(acme: httpx.Client, control: httpx.Client) -> None:
    control.post("/faults", json=[{"mode": "5xx", "count": 1}, {"mode": "429", "count": 1}])
    assert [acme.get("/v2/nfe/x").status_code for _ in range(3)] == [500, 429, 404]


def test_config_round_trip_and_unknown_keys(control: httpx.Client) -> None:
    r = control.post(
        "/config",
        json={
            "processing_delay": 1.5,
            "hook_schedule_scale": 0.01,
            "rate_limit": 7,
            "hang_seconds": 4,
        },
    )
    body = r.json()
    assert (
        body["processing_delay"],
        body["hook_schedule_scale"],
        body["rate_limit"],
        body["hang_seconds"],
    ) == (1.5, 0.01, 7, 4.0)
    assert body["account_token"] == "sandbox-account-token"
    assert control.post("/config", json={"bogus": 1}).status_code == 400


def test_config_switches_synchronous_emission_per_company(
    acme: httpx.Client, control: httpx.Client
) -> None:
    control.post("/config", json={"companies": {ACME: {"nfe_sincrono": True}}})
    assert acme.post("/v2/nfe", params={"ref": "s"}, json=nfe_payload()).status_code == 201


def test_sefaz_endpoint_validates_uf(control: httpx.Client) -> None:
    assert control.post("/sefaz", json={"uf": "XX"}).status_code == 400
    assert control.post("/sefaz", json={"uf": ["SP", "PR"], "down": True}).json() == {
        "sefaz_down": ["PR", "SP"]
    }
    assert control.get("/sefaz").json()["sefaz_down"] == ["PR", "SP"]


def test_reset_restores_the_initial_state(acme: httpx.Client, control: httpx.Client) -> None:
    control.post("/config", json={"rate_limit": 3})
    control.post("/faults", json={"mode": "5xx", "fraction": 1, "path_prefix": "/v2/nfse"})
    control.post(
        "/companies",
        json={
            "cnpj": "99887766000105",
            "nome": "X",
            "uf": "SP",
            "habilita_nfe": True,
            "token_homologacao": "x-hom",
        },
    )
    acme.post("/v2/nfe", params={"ref": "a"}, json=nfe_payload())
    control.post("/clock", json={"advance_seconds": 1000})
    assert control.post("/reset").status_code == 200
    assert control.get("/config").json()["rate_limit"] == 100
    assert control.get("/faults").json()["faults"] == []
    assert acme.get("/v2/nfe/a").status_code == 404
    assert control.get("/counters").json()["counters"] == []
    assert abs(control.get("/clock").json()["offset_seconds"]) < 1
    assert len(control.get("/companies").json()) == 6
    assert acme.post("/v2/nfe", params={"ref": "a"}, json=nfe_payload()).status_code == 202


def test_companies_added_at_runtime(sandbox: SandboxServer, control: httpx.Client) -> None:
    r = control.post(
        "/companies",
        json=[
            {
                "cnpj": "99887766000105",
                "nome": "Runtime",
                "uf": "RJ",
                "habilita_nfe": True,
                "token_homologacao": "rt-hom",
            }
        ],
    )
    assert r.status_code == 201
    company = r.json()[0]
    assert company["token_homologacao"] == "rt-hom" and company["token_producao"]
    client = httpx.Client(base_url=sandbox.url, auth=("rt-hom", ""))
    assert (
        client.post("/v2/nfe", params={"ref": "1"}, json=nfe_payload("99887766000105")).status_code
        == 202
    )
    client.close()


def test_counters_totals_and_filters(acme: httpx.Client, control: httpx.Client) -> None:
    for ref in ("a", "b"):
        acme.post("/v2/nfe", params={"ref": ref}, json=nfe_payload())
    acme.post("/v2/nfce", params={"ref": "a"}, json={})
    body = control.get("/counters").json()
    assert body["totals"] == {
        "posts": 3,
        "documents_created": 2,
        "contingency_documents": 0,
        "duplicates": 0,
    }
    assert len(control.get("/counters", params={"doc_type": "nfe"}).json()["counters"]) == 2


def test_clock_set_and_health(control: httpx.Client) -> None:
    target = time.time() + 86400
    r = control.post("/clock", json={"set": target}).json()
    assert abs(r["timestamp"] - target) < 1
    assert control.get("/health").json()["status"] == "ok"
    assert control.get("/nope").status_code == 404


def test_documents_listing(acme: httpx.Client, control: httpx.Client) -> None:
    acme.post("/v2/nfe", params={"ref": "d"}, json=nfe_payload())
    docs = control.get("/documents", params={"ref": "d"}).json()["documents"]
    assert docs[0]["token"] == "acme-hom" and docs[0]["env"] == "homologacao"


def test_documents_listing_gives_the_unrounded_authorization_time(
    acme: httpx.Client, control: httpx.Client
) -> None:
    # Benchmarks time the gateway's webhook from this moment: seconds alone would not do.
    before = time.time()
    acme.post("/v2/nfe", params={"ref": "t"}, json=nfe_payload())
    control.post("/process", json={})
    doc = control.get("/documents", params={"ref": "t"}).json()["documents"][0]
    assert doc["status"] == "autorizado"
    assert isinstance(doc["authorized_at"], float)
    assert before <= doc["authorized_at"] <= time.time()
