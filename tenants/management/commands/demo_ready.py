from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.management.commands.demo_setup import DEMO_FILE


class Command(BaseCommand):
    help = (
        "Wait until the web answers /readyz, print var/demo.txt (the demo key and curls) "
        "again, then stay up: `make run` runs this as a Procfile process, and honcho stops "
        "every process as soon as one of them ends."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default=f"{settings.FG_PUBLIC_URL}/readyz",
                            help="readiness URL to wait for (default: FG_PUBLIC_URL/readyz)")
        parser.add_argument("--timeout", type=float, default=120.0,
                            help="seconds to wait for readiness before giving up")

    def handle(self, *args: Any, url: str, timeout: float, **options: Any) -> None:
        path = settings.VAR_DIR / DEMO_FILE
        if not path.exists():
            raise CommandError(f"{path} does not exist: run `manage.py demo_setup` first.")
        if not _wait_ready(url, timeout):
            self.stderr.write(f"{url} did not answer 200 within {timeout:.0f}s; the demo key "
                              f"and curls are in {path}")
        else:
            self.stdout.write(self.style.SUCCESS(f"Everything is up. From {path}:"))
            self.stdout.write(path.read_text().rstrip("\n"))
        self.stdout.flush()
        threading.Event().wait()  # until honcho stops the whole set (SIGTERM)


def _wait_ready(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(0.5)
    return False
