"""One sandbox per test session, reset between tests through its control API.

Starting a sandbox (an HTTP server, its processor and hook threads) for every test cost more
than most tests themselves. A test gets the session's server back in its starting state:
``POST /__sandbox__/reset`` restores the companies and config it started with, and clears
documents, counters, faults, held hooks, the rate limiter and the clock.
"""

from __future__ import annotations

import httpx

from sandbox.server import SandboxServer


def reset_sandbox(server: SandboxServer) -> None:
    # Plain HTTP on loopback: no CA bundle to load.
    response = httpx.post(f"{server.url}/__sandbox__/reset", timeout=10,
                          verify=False)  # noqa: S501
    assert response.status_code == 200, response.text
