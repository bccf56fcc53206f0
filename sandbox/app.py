"""The sandbox without its HTTP skin: store, faults, hosted files, rate limiter, hook dispatcher,
processor."""

from __future__ import annotations

import threading
import traceback
from pathlib import Path
from typing import Any

from sandbox.faults import Faults
from sandbox.hooks import HookDispatcher
from sandbox.hosted_files import HostedFiles
from sandbox.ratelimit import RateLimiter
from sandbox.state import Config, Store
from sandbox.wire import Principal


class App:
    def __init__(
        self,
        *,
        account_token: str,
        config: Config,
        companies: list[dict[str, Any]] | None = None,
        state_file: Path | None = None,
    ) -> None:
        self.store = Store(account_token=account_token, config=config)
        self.store.remember_initial_config()
        self.state_file = state_file
        if state_file is None or not self.store.load(state_file):
            self.store.load_initial_companies(companies or [])
        elif companies:
            self.store.initial_companies.extend(companies)
        self.faults = Faults()
        self.hosted_files = HostedFiles()
        self.limiter = RateLimiter(now=self.store.clock.now)
        self.hooks = HookDispatcher(self.store)
        self._stopped = threading.Event()
        self._processor = threading.Thread(
            target=self._process_loop, name="sandbox-processor", daemon=True
        )

    def start(self) -> None:
        self.hooks.start()
        self._processor.start()

    def stop(self) -> None:
        self._stopped.set()
        self.hooks.stop()
        self.save()

    def save(self) -> None:
        if self.state_file is not None:
            self.store.save(self.state_file)

    def reset(self) -> None:
        self.faults.clear()
        self.hosted_files.clear()
        self.limiter.clear()
        self.hooks.clear()
        self.store.reset()

    def principal(self, token: str) -> Principal | None:
        if not token:
            return None
        if token == self.store.account_token:
            return Principal(token=token, kind="account")
        owner = self.store.tokens.get(token)
        if owner is None:
            return None
        return Principal(token=token, kind="company", company_id=owner[0], env=owner[1])

    def _process_loop(self) -> None:
        # Imported here: emission imports the App type for hints only, this keeps the graph flat.
        from sandbox.emission import process_due

        last_save = self.store.clock.now()
        while not self._stopped.wait(0.02):
            try:
                process_due(self)
            except Exception:  # noqa: BLE001 - see the comment below
                # A bug in one document must not stop the processing of all the others.
                traceback.print_exc()
            if self.state_file is not None and self.store.clock.now() - last_save > 5:
                self.save()
                last_save = self.store.clock.now()
