"""Counters written by other processes (a worker, another gunicorn worker) are in the scrape."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from metrics import multiprocess
from tests.metrics.conftest import scrape

ROOT = Path(__file__).resolve().parents[2]

# What a worker does when it reads a note from Focus and delivers a webhook: the real signals
# and receivers, in a process of its own that exits before the scrape.
WORKER = """
import django
django.setup()
from fiscal.focus import signals
from fiscal.focus.client import FocusTimeout
for _ in range(3):
    signals.request_done(method="GET", path="/v2/nfse/fg0123456789abcdef", status_code=200,
                         seconds=0.2)
signals.request_done(method="POST", path="/v2/nfse", error=FocusTimeout("no answer"), seconds=1.0)
signals.budget_wait.send_robust(sender=None, urgent=False)
"""


def run_worker_process() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run([sys.executable, "-c", WORKER], cwd=ROOT, env=env, check=True, timeout=60)


@pytest.mark.django_db
def test_counters_of_another_process_appear_in_the_webs_scrape() -> None:
    assert multiprocess.directory() is not None
    before = scrape()
    run_worker_process()
    after = scrape()

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert moved("fg_focus_requests_total", endpoint="GET /v2/nfse/{ref}", code="200") == 3
    assert moved("fg_focus_request_seconds_count", endpoint="GET /v2/nfse/{ref}") == 3
    assert moved("fg_focus_request_seconds_sum", endpoint="GET /v2/nfse/{ref}") == (
        pytest.approx(0.6)
    )
    assert moved("fg_focus_requests_total", endpoint="POST /v2/nfse", code="timeout") == 1
    assert moved("fg_focus_budget_waits_total", urgent="false") == 1


def test_files_are_named_by_host_and_pid_and_a_group_start_empties_the_folder(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv(multiprocess.ENV, str(tmp_path))
    assert multiprocess.process_identifier() == f"{multiprocess.INSTANCE}-{os.getpid()}"
    for name in ("counter_web-1-12.db", "histogram_web-1-12.db"):
        (tmp_path / name).write_bytes(b"")
    assert multiprocess.wipe() == 2
    assert list(tmp_path.iterdir()) == []


def test_the_focus_endpoint_label_is_a_template() -> None:
    from fiscal.focus.signals import endpoint_template

    assert endpoint_template("POST", "/v2/nfe") == "POST /v2/nfe"
    assert endpoint_template("GET", "/v2/nfe/fgabc123?completa=1") == "GET /v2/nfe/{ref}"
    assert endpoint_template("POST", "/v2/nfe/fgabc/carta_correcao") == (
        "POST /v2/nfe/{ref}/carta_correcao"
    )
    assert endpoint_template("DELETE", "/v2/hooks/Hk123") == "DELETE /v2/hooks/{id}"
    assert endpoint_template("POST", "/v2/nfe/inutilizacao") == "POST /v2/nfe/inutilizacao"
    assert endpoint_template("GET", "/arquivos_development/1122/202603/XMLs/x.xml") == (
        "GET /{file}"
    )


def test_a_services_worker_empties_its_folder_at_start_and_serves_its_counters(
    tmp_path: Path, monkeypatch, settings
) -> None:
    import httpx

    from metrics import exporter, receivers

    monkeypatch.setenv(multiprocess.ENV, str(tmp_path))
    (tmp_path / "counter_old-run-7.db").write_bytes(b"")
    settings.SERVICES_MODE = False
    receivers.on_worker_init()
    assert list(tmp_path.iterdir())  # embedded: make run empties the shared folder, not Celery
    settings.SERVICES_MODE = True
    receivers.on_worker_init()
    assert list(tmp_path.iterdir()) == []

    settings.FG_METRICS_TOKEN = "t0ken-for-the-worker-exporter"
    settings.FG_METRICS_WORKER_BIND = "127.0.0.1"
    settings.FG_METRICS_WORKER_PORT = 0
    started = len(exporter._started)
    receivers.on_worker_ready()
    assert len(exporter._started) == started  # port 0: not served
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.FG_METRICS_WORKER_PORT = port
    receivers.on_worker_ready()
    server = exporter._started[-1]
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5,
                           headers={"Authorization": "Bearer t0ken-for-the-worker-exporter"})
        assert answer.status_code == 200
    finally:
        server.shutdown()
        server.server_close()
