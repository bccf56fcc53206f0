"""The logs of the Procfile's processes (what `make run` starts), as real processes.

An idle worker and beat write nothing at INFO for the dispatcher ticks; FG_LOG_FORMAT=json
makes every line of web, worker and beat a JSON object carrying what it is about.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import httpx
import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from fiscal.models import Note, NoteStatus
from sandbox.server import SandboxServer
from tests.conftest import VALID_CNPJ
from tests.e2e.conftest import BIN, ROOT, Proc, _port_open, free_port, wait_until
from tests.fiscal.conftest import sandbox_company
from tests.sandbox.helpers import nfe_payload

pytestmark = pytest.mark.slow

TICKS = ("fiscal.tasks.dispatch_notes", "webhooks.tasks.dispatch_deliveries",
         "storage.tasks.archive_dispatch")


def procfile_command(name: str, tmp: Path) -> list[str]:
    """The Procfile's command for ``name``, with its beat schedule file under ``tmp``."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        proc, _, command = line.partition(":")
        if proc.strip() == name:
            return shlex.split(command.replace("var/celerybeat-schedule",
                                               str(tmp / "celerybeat-schedule")))
    raise AssertionError(f"no {name} in the Procfile")


class Logs:
    def __init__(self, tmp: Path, env: dict[str, str], broker_url: str) -> None:
        self.tmp, self.env, self.broker_url = tmp, env, broker_url
        self.procs: dict[str, Proc] = {}

    def start(self, name: str, **env: str) -> Proc:
        self.procs[name] = Proc(procfile_command(name, self.tmp), {**self.env, **env},
                                self.tmp / f"{name}.log").start()
        return self.procs[name]

    def text(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text()

    def tick_totals(self) -> dict[str, int]:
        """How many of each tick the worker has run, from its own stats (remote control)."""
        # Celery prefers $CELERY_BROKER_URL (the suite's broker) to the one it is given.
        with mock.patch.dict(os.environ, {"CELERY_BROKER_URL": self.broker_url}):
            app = Celery("probe", broker=self.broker_url)
            try:
                stats = app.control.inspect(timeout=2).stats() or {}
            finally:
                app.close()
        totals = next(iter(stats.values()), {}).get("total", {})
        return {task: totals.get(task, 0) for task in TICKS}

    def stop(self) -> None:
        """A warm shutdown, as honcho does it: SIGTERM to each main process (not its pool
        children, which the worker stops itself), then the whole group if it hangs."""
        stopping = [self.procs.pop(n) for n in [n for n in self.procs if n != "redis"]]
        for proc in stopping:
            proc.popen.terminate()
        for proc in stopping:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=30)
            proc.kill(signal.SIGKILL)


@pytest.fixture
def logs(transactional_db: None, tmp_path: Path) -> Iterator[Logs]:
    sandbox = SandboxServer(host="127.0.0.1", port=0, companies=[sandbox_company()]).start()
    redis_port = free_port()
    db = connection.settings_dict
    broker_url = f"redis://127.0.0.1:{redis_port}/0"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FG_", "FOCUS_"))},
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
                        f"{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": broker_url,
        "FG_VAR_DIR": str(tmp_path / "var"),
        "FG_ENCRYPTION_KEYS": ",".join(settings.FG_ENCRYPTION_KEYS),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "FOCUS_URL_HOMOLOGACAO": sandbox.url,
        "FOCUS_URL_PRODUCAO": sandbox.url,
        "FG_FOCUS_HOOKS_ENABLED": "false",
        "FG_SYNC_FIRST_DELAY": "0.5",
        "FG_SYNC_SCHEDULE": "0.5,1,1,2",
    }
    result = Logs(tmp_path, env, broker_url)
    result.procs["redis"] = Proc(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"], env, tmp_path / "redis.log").start()
    wait_until(lambda: _port_open(redis_port), 20, "redis")
    try:
        yield result
    finally:
        result.stop()
        result.procs.pop("redis").kill()
        sandbox.stop()


def test_an_idle_worker_and_beat_write_nothing_for_the_ticks(logs: Logs) -> None:
    logs.start("worker")
    logs.start("beat")
    wait_until(lambda: " ready." in logs.text("worker"), 60, "the worker to be ready")
    ready_at = time.monotonic()
    before = {name: len(logs.text(name).splitlines()) for name in ("worker", "beat")}
    # Count-based: wait until every tick has run several times, then look at what was written.
    wait_until(lambda: min(logs.tick_totals().values()) >= 5, 90, "five runs of every tick")
    ran = logs.tick_totals()
    idle_seconds = time.monotonic() - ready_at
    written = {name: logs.text(name).splitlines()[before[name]:] for name in before}
    logs.stop()

    assert all(count >= 5 for count in ran.values()), ran
    assert written == {"worker": [], "beat": []}, written
    for name in ("worker", "beat"):
        text = logs.text(name)
        assert not re.search(r"Task \S+ (received|succeeded)|Sending due task", text), text
    print(f"\nidle: {sum(ran.values())} ticks in {idle_seconds:.0f}s, "
          f"{sum(map(len, written.values())) / idle_seconds * 60:.0f} lines/minute")


def _log_records(text: str) -> list[dict]:
    """Every line as JSON. Celery writes two things straight to the terminal, not through
    logging: its shutdown notice and, only when run as root, a privileges warning."""
    if os.geteuid() == 0:
        text = re.sub(r"(?s)^\S*platforms\.py:\d+: SecurityWarning.*?"
                      r"_warn_or_raise_security_error\([^\n]*\n", "", text)
    lines = [line for line in text.splitlines()
             if line.strip() and line != "worker: Warm shutdown (MainProcess)"]
    return [json.loads(line) for line in lines]


def test_json_logs_of_a_request_and_a_note_life_carry_their_ids(logs: Logs,
                                                                make_empresa) -> None:
    from tenants.models import Environment
    from tenants.services import api_key_create, tenant_create

    tenant = tenant_create(name="Logs SaaS")
    make_empresa(tenant, cnpj=VALID_CNPJ, uf="PR", codigo_municipio="4106902")
    key = api_key_create(tenant=tenant, environment=Environment.HOMOLOGACAO).raw
    port = free_port()
    json_env = {"FG_LOG_FORMAT": "json", "FG_BIND": f"127.0.0.1:{port}", "FG_WEB_WORKERS": "1",
                "FG_INLINE_SUBMIT": "false"}
    for name in ("web", "worker", "beat"):
        logs.start(name, **json_env)
    wait_until(lambda: _port_open(port), 60, "web")
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=(key, ""), timeout=30) as web:
        response = web.post("/v2/nfe", params={"ref": "json-1"}, json=nfe_payload(VALID_CNPJ))
        assert response.status_code == 202, response.text
        request_id = response.headers["X-Request-Id"]
        note = Note.objects.get(tenant=tenant, ref="json-1")
        wait_until(lambda: Note.objects.filter(pk=note.pk, status=NoteStatus.AUTORIZADO,
                                               next_action="").exists(), 90, "autorizado")
        note.refresh_from_db()
        assert web.get("/v2/nfe/json-1").json()["status"] == "autorizado"
    logs.stop()

    records = {name: _log_records(logs.text(name)) for name in ("web", "worker", "beat")}
    everything = [r for lines in records.values() for r in lines]
    assert everything and all(r["ts"].endswith("Z") for r in everything)
    web_lines = [r for r in records["web"] if r.get("request_id") == request_id]
    # The access line (gunicorn) and the application's lines of the same request.
    assert any(r["logger"] == "gunicorn.access" and '"POST /v2/nfe"' in r["message"]
               for r in web_lines)
    created = [r for r in web_lines if r["logger"] == "fiscal.notes"]
    assert created and created[0]["message"] == f"note {note.pk} created: accepted from " \
                                                 "the tenant"
    assert created[0]["tenant_id"] == tenant.pk
    assert created[0]["note_id"] == note.pk and created[0]["upstream_ref"] == note.upstream_ref
    # The worker's lines: the Focus calls and the timeline, with the note and its task.
    worker = [r for r in records["worker"] if r.get("note_id") == note.pk]
    assert any(r["logger"] == "fiscal.focus" and "POST" in r["message"] for r in worker)
    assert all(r["upstream_ref"] == note.upstream_ref and r["tenant_id"] == tenant.pk
               and r["task"] == "fiscal.tasks.note_step" and r["task_id"] for r in worker)
    assert [r["message"] for r in worker if r["message"].endswith("-> autorizado")] == [
        f"note {note.pk} status_changed: processando_autorizacao -> autorizado"]
    assert not any("Sending due task" in r["message"] or "received" in r["message"]
                   for r in everything)
