"""`make run` keeps the demo key and curls findable: var/demo.txt, printed again when up."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

from tenants.services import api_key_authenticate
from tests.support.http import Receiver, Reply

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"fg_test_[A-Za-z0-9]{44}")


def test_demo_setup_writes_the_key_and_curls_to_var_demo_txt(db: None, settings,
                                                             tmp_path) -> None:
    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("demo_setup", stdout=out)
    path = tmp_path / "demo.txt"
    text = path.read_text()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    key = KEY.search(text).group(0)
    assert api_key_authenticate(raw=key) is not None
    assert f"curl -u {key}: {settings.FG_PUBLIC_URL}/api/v1/empresas" in text
    assert re.search(rf"curl -u {key}: .*'{settings.FG_PUBLIC_URL}/v2/nfe\?ref=demo-\w+' "
                     rf"-d @{tmp_path}/demo-nfe.json", text)
    assert key in out.getvalue() and str(path) in out.getvalue()

    # A second run replaces the file with the new key; the old one no longer works.
    call_command("demo_setup", stdout=io.StringIO())
    new_key = KEY.search(path.read_text()).group(0)
    assert new_key != key
    assert api_key_authenticate(raw=key) is None
    assert KEY.findall(path.read_text()) == [new_key] * 4


@pytest.fixture
def readiness() -> Iterator[tuple[str, list[int]]]:
    """A web still starting: 503 for the first two answers, then 200."""
    web = Receiver(default=Reply(status=200, body=b""))
    web.reply(Reply(status=503, body=b""), Reply(status=503, body=b""))
    try:
        yield web.url("/readyz"), web.statuses
    finally:
        web.stop()


def test_demo_ready_prints_the_file_once_ready_and_stays_up(tmp_path,
                                                            readiness) -> None:
    url, answers = readiness
    (tmp_path / "demo.txt").write_text("Demo tenant ready.\n  test key: fg_test_x\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("FG_", "DATABASE_"))},
           "FG_VAR_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "demo_ready", "--url", url, "--timeout", "60"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        printed = [proc.stdout.readline() for _ in range(3)]
        # It printed only after the web answered 200, and it is still running: honcho stops
        # everything when one process ends.
        assert answers[-1] == 200 and answers.count(503) == 2
        assert printed[0].startswith("Everything is up.")
        assert printed[1:] == ["Demo tenant ready.\n", "  test key: fg_test_x\n"]
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait(10)


def test_demo_ready_without_demo_setup_says_what_to_run(tmp_path, readiness) -> None:
    url, answers = readiness
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("FG_", "DATABASE_"))},
           "FG_VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "manage.py", "demo_ready", "--url", url, "--timeout", "5"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0
    assert "run `manage.py demo_setup` first" in done.stderr
    assert answers == []
