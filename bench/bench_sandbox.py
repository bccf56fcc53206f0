"""Benchmark: how many simple requests per second the Focus NFe sandbox answers on loopback.

    python bench/bench_sandbox.py [--threads 4] [--seconds 3]

Starts its own sandbox in a subprocess (`python -m sandbox --port 0` on 127.0.0.1, zero
processing delay, rate limit off, so client and server do not share a GIL), warms up, then runs
each scenario for a fixed time with a few client threads using httpx keep-alive:
- baseline: `GET /__sandbox__/health`, the cheapest request the server answers;
- consulta: `GET /v2/nfe/REF` of an authorized note;
- emissão: `POST /v2/nfe?ref=...` of a valid note (new ref each time).
Prints requests/second and each scenario's ratio to the baseline measured in the same run. The
target is >= 500 req/s for the simple GET: the sandbox must never be the bottleneck of the
gateway's benchmarks. A rate below it is reported, not fatal: an absolute rate moves with the
machine's load, and `make bench` goes on to the gateway's own benchmarks.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent

CNPJ = "07504505000132"
TOKEN = "bench-token-homologacao"  # noqa: S105 - a throwaway sandbox token
COMPANY = {
    "cnpj": CNPJ,
    "nome": "Bench Ltda",
    "uf": "PR",
    "regime_tributario": 1,
    "habilita_nfe": True,
    "token_homologacao": TOKEN,
    "token_producao": "bench-token-producao",
}
NFE = {
    "natureza_operacao": "Venda",
    "data_emissao": "2026-01-01T10:00:00-03:00",
    "cnpj_emitente": CNPJ,
    "nome_destinatario": "NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL",
    "cpf_destinatario": "03055054911",
    "items": [
        {
            "numero_item": 1,
            "codigo_produto": "1",
            "descricao": "Produto",
            "cfop": "5102",
            "quantidade_comercial": 1,
            "valor_unitario_comercial": 10,
            "valor_bruto": 10,
            "icms_situacao_tributaria": "102",
            "icms_origem": 0,
            "codigo_ncm": "49111090",
            "unidade_comercial": "un",
        }
    ],
}
MAX_REQUESTS_PER_SCENARIO = 200_000


def run(
    name: str,
    url: str,
    threads: int,
    seconds: float,
    call: Callable[[httpx.Client, int], httpx.Response],
) -> float:
    counter = itertools.count()
    done = [0] * threads
    errors = [0] * threads
    deadline = time.perf_counter() + seconds

    def worker(index: int) -> None:
        with httpx.Client(base_url=url, auth=(TOKEN, ""), timeout=10) as client:
            while time.perf_counter() < deadline:
                n = next(counter)
                if n >= MAX_REQUESTS_PER_SCENARIO:
                    return
                response = call(client, n)
                if response.status_code >= 400:
                    errors[index] += 1
                done[index] += 1

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    rate = sum(done) / elapsed
    print(
        f"{name:<34} {sum(done):>7} requests {elapsed:6.2f} s {rate:9.0f} req/s"
        f"  errors={sum(errors)}"
    )
    return rate


@contextmanager
def sandbox_process() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        companies = Path(tmp) / "companies.json"
        companies.write_text(json.dumps([COMPANY]))
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sandbox",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--rate-limit",
                "0",
                "--companies",
                str(companies),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if "listening on " not in line:
                raise RuntimeError(f"sandbox did not start: {line!r}")
            yield line.strip().rsplit(" ", 1)[-1]
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with sandbox_process() as url:
        with httpx.Client(base_url=url, auth=(TOKEN, "")) as client:
            client.post("/v2/nfe", params={"ref": "bench-read"}, json=NFE).raise_for_status()
            assert client.get("/v2/nfe/bench-read").json()["status"] == "autorizado"
        print(f"sandbox at {url}; {args.threads} client threads, {args.seconds:.0f} s each")
        run("warm-up", url, args.threads, 1.0, lambda c, n: c.get("/__sandbox__/health"))
        baseline = run(
            "baseline GET /__sandbox__/health",
            url,
            args.threads,
            args.seconds,
            lambda c, n: c.get("/__sandbox__/health"),
        )
        consulta = run(
            "GET /v2/nfe/REF",
            url,
            args.threads,
            args.seconds,
            lambda c, n: c.get("/v2/nfe/bench-read"),
        )
        emissao = run(
            "POST /v2/nfe?ref=",
            url,
            args.threads,
            args.seconds,
            lambda c, n: c.post("/v2/nfe", params={"ref": f"bench-{n}"}, json=NFE),
        )
    print(f"ratio consulta/baseline: {consulta / baseline:.2f}")
    print(f"ratio emissao/baseline:  {emissao / baseline:.2f}")
    target = 500
    verdict = "OK" if consulta >= target else "BELOW TARGET"
    print(f"simple GET: {consulta:.0f} req/s (target >= {target}): {verdict}")
    print(f"RESULT bench=sandbox health_rps={baseline:.0f} consulta_rps={consulta:.0f} "
          f"emissao_rps={emissao:.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
