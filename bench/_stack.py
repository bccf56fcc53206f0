"""A throwaway gateway for benchmarks: its own Postgres database and Redis database, the web
(gunicorn), optionally workers and the sandbox, all on loopback. Not a test helper."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/12")
# Databases are named <prefix>_<bench>_<pid>: several benchmark runs may share one Postgres.
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "fg_bench")
CNPJ = "11222333000181"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open")


def psql(sql: str) -> None:
    subprocess.run(["psql", f"{PG}/postgres", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
                   check=True, capture_output=True)


class Stack:
    def __init__(self, name: str, **env: str) -> None:
        self.db = f"{DB_PREFIX}_{name}_{os.getpid()}"
        self.tmp = Path(tempfile.mkdtemp(prefix=f"fg-bench-{name}-"))
        # bench/probe.py's counters (SQL, Celery messages, HTTP) of every gateway process.
        self.counts_dir = self.tmp / "counts"
        self.procs: list[subprocess.Popen] = []
        self.sandbox_port = free_port()
        self.web_port = free_port()
        from cryptography.fernet import Fernet

        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("FG_", "FOCUS_"))},
            # The application's settings plus bench/probe.py, inert without the count dir.
            "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
            "PYTHONPATH": str(ROOT),
            "FG_BENCH_SQL_COUNT_DIR": str(self.counts_dir),
            # As in production: DEBUG keeps every query's text, a cost no deployment pays.
            "DJANGO_DEBUG": os.environ.get("BENCH_DEBUG", "false"),
            "DATABASE_URL": f"{PG}/{self.db}",
            "CELERY_BROKER_URL": REDIS,
            "FG_VAR_DIR": str(self.tmp / "var"),
            "FG_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DJANGO_SECRET_KEY": "bench-only-secret-key-" + "x" * 30,
            "FOCUS_URL_HOMOLOGACAO": f"http://127.0.0.1:{self.sandbox_port}",
            "FOCUS_URL_PRODUCAO": f"http://127.0.0.1:{self.sandbox_port}",
            "FG_PUBLIC_URL": f"http://127.0.0.1:{self.web_port}",
            "FG_FOCUS_RATE_LIMIT": "100000000",
            "FG_TENANT_RATE_LIMIT": "100000000",
            "FG_LOG_LEVEL": "WARNING",
            **env,
        }
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"

    # --- lifecycle
    def setup(self) -> None:
        psql(f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")
        psql(f"CREATE DATABASE {self.db}")
        subprocess.run(["redis-cli", "-u", REDIS, "FLUSHDB"], check=True, capture_output=True)
        subprocess.run([str(BIN / "python"), "manage.py", "migrate", "-v0"], cwd=ROOT,
                       env=self.env, check=True)
        os.environ.update(self.env)
        import django

        django.setup()

    def teardown(self) -> None:
        for proc in self.procs:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        from django.db import connections

        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("ab")
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def start_sandbox(self, companies: list[dict[str, Any]]) -> subprocess.Popen:
        path = self.tmp / "companies.json"
        path.write_text(json.dumps(companies))
        proc = self.spawn("sandbox", [str(BIN / "python"), "-m", "sandbox", "--port",
                               str(self.sandbox_port), "--companies", str(path),
                               "--rate-limit", "100000000"])
        wait_port(self.sandbox_port)
        return proc

    def start_web(self, workers: int = 2, threads: int = 8) -> subprocess.Popen:
        proc = self.spawn("web", [str(BIN / "gunicorn"), "config.wsgi", "-b",
                           f"127.0.0.1:{self.web_port}", "--workers", str(workers),
                           "--threads", str(threads), "--timeout", "120"])
        wait_port(self.web_port)
        return proc

    def start_worker(self, concurrency: int = 8, queues: str = "default,submit,sync",
                     beat: bool = True) -> subprocess.Popen:
        """A prefork worker; with `beat`, the scheduler embedded in it (``-B``)."""
        return self.spawn("worker", [
            str(BIN / "celery"), "-A", "config", "worker", *(["-B"] if beat else []),
            "-Q", queues, "--concurrency", str(concurrency), "--loglevel", "WARNING",
            "--without-gossip", "--without-mingle", "--schedule", str(self.tmp / "beat"),
        ])

    def start_beat(self) -> subprocess.Popen:
        """The scheduler in a process of its own, as the Procfile runs it."""
        return self.spawn("beat", [str(BIN / "celery"), "-A", "config", "beat", "--loglevel",
                                   "WARNING", "--schedule", str(self.tmp / "beat")])

    # --- data
    def tenant_with_key(self, name: str = "Bench") -> tuple[Any, str, Any]:
        from tenants.models import Environment
        from tenants.services import api_key_create, empresa_create, tenant_create

        tenant = tenant_create(name=name)
        empresa = empresa_create(tenant=tenant, data={
            "cnpj": CNPJ, "nome": "Bench Ltda", "uf": "PR", "regime_tributario": 1,
            "habilita_nfe": True, "habilita_nfse": True, "habilita_nfsen": True,
            "token_homologacao": "bench-hom", "token_producao": "bench-prod",
        })
        key = api_key_create(tenant=tenant, environment=Environment.HOMOLOGACAO).raw
        return tenant, key, empresa


def sandbox_companies() -> list[dict[str, Any]]:
    return [{"cnpj": CNPJ, "nome": "Bench Ltda", "uf": "PR", "regime_tributario": 1,
             "habilita_nfe": True, "habilita_nfse": True, "habilita_nfsen_homologacao": True,
             "token_homologacao": "bench-hom", "token_producao": "bench-prod"}]


def nfe(ref_index: int) -> dict[str, Any]:
    return {
        "natureza_operacao": "Remessa", "data_emissao": "2026-01-15T12:00:00-03:00",
        "tipo_documento": 1, "finalidade_emissao": 1, "cnpj_emitente": CNPJ,
        "nome_destinatario": "NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL",
        "cpf_destinatario": "03055054911", "valor_total": 47.23, "valor_produtos": 47.23,
        "modalidade_frete": 0,
        "items": [{"numero_item": 1, "codigo_produto": ref_index, "descricao": "Cartões",
                   "cfop": 5923, "unidade_comercial": "un", "quantidade_comercial": 100,
                   "valor_unitario_comercial": 0.4723, "valor_unitario_tributavel": 0.4723,
                   "unidade_tributavel": "un", "codigo_ncm": 49111090,
                   "quantidade_tributavel": 100, "valor_bruto": 47.23,
                   "icms_situacao_tributaria": "400", "icms_origem": 0,
                   "pis_situacao_tributaria": "07", "cofins_situacao_tributaria": "07"}],
    }


@contextmanager
def stack(name: str, **env: str) -> Iterator[Stack]:
    s = Stack(name, **env)
    s.setup()
    try:
        yield s
    finally:
        s.teardown()


def hammer(url: str, key: str, bodies: list[tuple[str, dict]], threads: int) -> tuple[float, list]:
    """POST every (path, body) with `threads` keep-alive clients; return (seconds, statuses)."""
    import threading

    import httpx

    statuses: list[int] = []
    lock = threading.Lock()
    chunks = [bodies[i::threads] for i in range(threads)]

    def run(chunk: list[tuple[str, dict]]) -> None:
        with httpx.Client(base_url=url, auth=(key, ""), timeout=60) as client:
            for path, body in chunk:
                code = client.post(path, json=body).status_code
                with lock:
                    statuses.append(code)

    workers = [threading.Thread(target=run, args=(c,)) for c in chunks]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - started, statuses
