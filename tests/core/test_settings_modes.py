from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _django_setup(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("FG_", "DATABASE_", "CELERY_", "FOCUS_", "DJANGO_"))}
    clean.update({"FG_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('ok')"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60,
    )


def test_services_mode_refuses_to_start_and_names_what_is_missing(tmp_path: Path) -> None:
    result = _django_setup({"FG_MODE": "services", "DATABASE_URL": "postgres://x@h/db"}, tmp_path)
    assert result.returncode != 0
    assert "FG_MODE=services needs" in result.stderr
    assert "CELERY_BROKER_URL" in result.stderr
    assert "FG_ENCRYPTION_KEYS" in result.stderr
    assert "DATABASE_URL," not in result.stderr  # the one given is not listed


def test_embedded_mode_needs_no_configuration(tmp_path: Path) -> None:
    result = _django_setup({}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secrets.json").exists()
    assert oct((tmp_path / "secrets.json").stat().st_mode)[-3:] == "600"


def test_env_example_lists_every_variable_the_settings_read() -> None:
    import re

    source = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r'env(?:_bool|_int|_float|_list)?\("([A-Z_0-9]+)"', source))
    listed = set(re.findall(r"^([A-Z_0-9]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - listed == set()


def test_embedded_mode_migrates_from_scratch(tmp_path: Path) -> None:
    """`make run`'s first step: every migration applies on SQLite (Postgres-only parts skip)."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("FG_", "DATABASE_", "CELERY_", "FOCUS_", "DJANGO_"))}
    clean.update({"FG_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"})
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "db.sqlite3").exists()
    check = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--check", "--noinput"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
