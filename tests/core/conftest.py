"""The sandbox and a company on it, for the hostile-input tests (shared with tests/fiscal)."""

from __future__ import annotations

from tests.fiscal.conftest import empresa, upstream  # noqa: F401 - fixtures
