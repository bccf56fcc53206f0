"""`python -m sandbox --port 8765`: run the Focus NFe sandbox in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from sandbox.server import SandboxServer
from sandbox.state import DEFAULT_ACCOUNT_TOKEN

# Every option of `SandboxServer` the command line sets: (option, type, default, help). The
# default is read first from SANDBOX_<OPTION> (an empty variable counts as unset); argparse
# converts a string default with the option's type, as it does the command line's words.
_OPTIONS: tuple[tuple[str, type, str | None, str | None], ...] = (
    ("--host", str, "127.0.0.1", "bind address (default 127.0.0.1: the control API has no auth)"),
    ("--port", int, "8765", None),
    (
        "--account-token",
        str,
        DEFAULT_ACCOUNT_TOKEN,
        f"reseller token for /v2/empresas (default {DEFAULT_ACCOUNT_TOKEN})",
    ),
    ("--companies", str, None, "JSON file: an array of companies (Focus empresa fields + tokens)"),
    ("--state-file", str, None, "load state from / save state to this JSON file"),
    ("--processing-delay", float, "0", "seconds before an async document settles (default 0)"),
    ("--hook-schedule-scale", float, "1", "multiplier of the hook retry schedule 1m/30m/1h/3h/24h"),
    ("--rate-limit", int, "100", "requests per minute per token; 0 disables (default 100)"),
    ("--hang-seconds", float, "30", "how long the hang faults hold a request (default 30)"),
    (
        "--nfce-efetivar-delay",
        float,
        "60",
        "seconds until an offline-contingency NFCe is made effective",
    ),
)


def _env(option: str) -> str | None:
    return os.environ.get("SANDBOX_" + option.removeprefix("--").replace("-", "_").upper()) or None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="A local Focus NFe v2 (both environments on one server) with fault "
        "injection. Every option also reads SANDBOX_<OPTION> from the environment.",
    )
    for option, kind, default, text in _OPTIONS:
        parser.add_argument(option, type=kind, default=_env(option) or default, help=text)
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=(_env("--verbose") or "").lower() in ("1", "true"),
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    options = vars(build_parser().parse_args(argv))
    options["companies_file"] = options.pop("companies")
    server = SandboxServer(**options)
    companies = len(server.store.companies)

    def ready(url: str) -> None:
        # The first line is machine-read (bench, tests): keep the URL its last word.
        print(
            f"Focus NFe sandbox ({companies} companies; account token "
            f"{options['account_token']!r}) listening on {url}",
            flush=True,
        )

    def terminate(signum: int, frame: object) -> None:
        # Procfile runners stop processes with SIGTERM: shut down like Ctrl-C, saving state.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    server.serve_forever(ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
