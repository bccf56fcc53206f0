"""metrics/ sits above every app: it reads them all, and only config (and the deployment's
process configuration) may import it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMPORT = re.compile(r"^\s*(from|import)\s+metrics\b", re.M)


def test_no_app_imports_metrics() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for top in ("core", "tenants", "fiscal", "webhooks", "storage", "sandbox")
        for path in (ROOT / top).rglob("*.py")
        if IMPORT.search(path.read_text())
    ]
    assert offenders == []
    assert IMPORT.search((ROOT / "config" / "urls.py").read_text())
