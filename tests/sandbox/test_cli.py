"""`python -m sandbox`: a standalone process with a companies file and a state file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.sandbox.helpers import ACME, COMPANIES, nfe_payload

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def sandbox_process(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line
        yield line.strip().rsplit(" ", 1)[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_companies_file_and_state_file(tmp_path: Path) -> None:
    companies = tmp_path / "companies.json"
    companies.write_text(json.dumps([COMPANIES[0], {**COMPANIES[1], "token_producao": None}]))
    state = tmp_path / "state.json"
    args = ("--companies", str(companies), "--state-file", str(state))
    with sandbox_process(*args) as url:
        client = httpx.Client(base_url=url, auth=("acme-hom", ""))
        assert client.post("/v2/nfe", params={"ref": "kept"}, json=nfe_payload()).status_code == 202
        assert client.get("/v2/nfe/kept").json()["status"] == "autorizado"
        listed = httpx.get(f"{url}/__sandbox__/companies").json()
        assert listed[1]["token_producao"]  # generated when absent
        assert httpx.post(f"{url}/__sandbox__/save").status_code == 200
        client.close()
    assert state.exists()
    with sandbox_process("--state-file", str(state)) as url:
        note = httpx.get(f"{url}/v2/nfe/kept", auth=("acme-hom", "")).json()
        assert note["status"] == "autorizado" and note["cnpj_emitente"] == ACME
        assert httpx.get(url + note["caminho_xml_nota_fiscal"]).status_code == 200


def test_environment_variables(tmp_path: Path) -> None:
    env = {"SANDBOX_ACCOUNT_TOKEN": "revenda-env", "SANDBOX_RATE_LIMIT": "3"}
    with sandbox_process(env=env) as url:
        r = httpx.get(f"{url}/v2/empresas", auth=("revenda-env", ""))
        assert r.status_code == 200 and r.headers["Rate-Limit-Limit"] == "3"


def test_help_lists_the_options() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sandbox", "--help"],
        cwd=ROOT,
        text=True,
        capture_output=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout
    for option in (
        "--host",
        "--port",
        "--account-token",
        "--companies",
        "--state-file",
        "--processing-delay",
        "--hook-schedule-scale",
        "--rate-limit",
    ):
        assert option in out
