"""End to end: the web and a Celery worker (with its beat) as real processes, their own Redis,
the test Postgres database, and the sandbox over HTTP.

Processes are shared by a module; every test starts from an empty database and a reset sandbox.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

from sandbox.server import SandboxServer
from tests.conftest import VALID_CNPJ
from tests.fiscal.conftest import sandbox_company

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Bounded wait for something another process does; fails with what it waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Proc:
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen | None = None

    def start(self) -> Proc:
        handle = self.log.open("ab")
        # Its own session, so that a kill reaches the whole process group (pool children too).
        self.popen = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self, sig: int = signal.SIGTERM, wait: float = 15.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, sig)
            self.popen.wait(timeout=wait)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=wait)


@dataclass
class Stack:
    tmp: Path
    env: dict[str, str]
    web_url: str
    redis_port: int
    sandbox: SandboxServer
    procs: dict[str, Proc] = field(default_factory=dict)

    @property
    def control(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.sandbox.url}/__sandbox__", timeout=10)

    def start_redis(self) -> None:
        self.procs["redis"] = Proc(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            self.env, self.tmp / "redis.log",
        ).start()
        wait_until(lambda: _port_open(self.redis_port), 20, "redis")

    def stop_redis(self) -> None:
        self.procs.pop("redis").kill(signal.SIGKILL)

    def start_worker(self, name: str = "worker") -> Proc:
        self.procs[name] = Proc(
            [str(BIN / "celery"), "-A", "config", "worker", "-B", "-Q", "default,submit,sync",
             "--concurrency", "4", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "--schedule", str(self.tmp / f"beat-{name}"), "-n", f"{name}@e2e"],
            self.env, self.tmp / f"{name}.log",
        ).start()
        return self.procs[name]

    def start_web(self) -> None:
        port = int(self.web_url.rsplit(":", 1)[1])
        self.procs["web"] = Proc(
            [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}", "--workers", "2",
             "--threads", "4", "--timeout", "60"],
            self.env, self.tmp / "web.log",
        ).start()
        wait_until(lambda: _port_open(port), 30, "web")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}"
                         for p in sorted(self.tmp.glob("*.log")))


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("e2e")
    sandbox = SandboxServer(host="127.0.0.1", port=0, companies=[sandbox_company()],
                            hang_seconds=20.0).start()
    redis_port = free_port()
    db = connection.settings_dict
    env = {
        # PROMETHEUS_MULTIPROC_DIR too: the stack counts in its own var/, not the checkout's.
        **{k: v for k, v in os.environ.items()
           if not k.startswith(("FG_", "FOCUS_", "PROMETHEUS_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
                        f"{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "FG_VAR_DIR": str(tmp / "var"),
        "FG_ENCRYPTION_KEYS": ",".join(settings.FG_ENCRYPTION_KEYS),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "FOCUS_URL_HOMOLOGACAO": sandbox.url,
        "FOCUS_URL_PRODUCAO": sandbox.url,
        "FOCUS_READ_TIMEOUT": "2",
        "FOCUS_CONNECT_TIMEOUT": "1",
        "FG_CLAIM_LEASE": "5",
        "FG_FASTPATH_GRACE": "2",
        "FG_INLINE_SUBMIT": "false",
        "FG_FOCUS_HOOKS_ENABLED": "false",
        "FG_SYNC_FIRST_DELAY": "0.5",
        "FG_SYNC_SCHEDULE": "0.5,1,1,2",
        "FG_RETRY_SCHEDULE": "0.5,1,1,2",
    }
    web_url = f"http://127.0.0.1:{free_port()}"
    stack = Stack(tmp=tmp, env=env, web_url=web_url, redis_port=redis_port, sandbox=sandbox)
    stack.start_redis()
    stack.start_web()
    try:
        yield stack
    finally:
        for proc in stack.procs.values():
            proc.kill(signal.SIGKILL)
        sandbox.stop()


@pytest.fixture
def e2e(stack: Stack, transactional_db: None) -> Iterator[Stack]:
    with stack.control as control:
        control.post("/reset", json={})
        control.post("/companies", json=[sandbox_company()])
    yield stack
    for name in [n for n in stack.procs if n.startswith("worker")]:
        stack.procs.pop(name).kill(signal.SIGKILL)
    if "redis" not in stack.procs:
        stack.start_redis()


@pytest.fixture
def tenant_key(e2e: Stack, make_empresa) -> str:
    from tenants.models import Environment
    from tenants.services import api_key_create, tenant_create

    tenant = tenant_create(name="E2E SaaS")
    make_empresa(tenant, cnpj=VALID_CNPJ, uf="PR", codigo_municipio="4106902",
                 habilita_nfse=True)
    return api_key_create(tenant=tenant, environment=Environment.HOMOLOGACAO).raw
