"""`python -m sandbox --port 8765`: run the Focus NFe sandbox in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from sandbox.server import SandboxServer
from sandbox.state import DEFAULT_ACCOUNT_TOKEN


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"SANDBOX_{name}", default)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="A local Focus NFe v2 (both environments on one server) with fault "
        "injection. Every option also reads SANDBOX_<OPTION> from the environment.",
    )
    parser.add_argument(
        "--host",
        default=_env("HOST", "127.0.0.1"),
        help="bind address (default 127.0.0.1: the control API has no auth)",
    )
    parser.add_argument("--port", type=int, default=int(_env("PORT", "8765") or 8765))
    parser.add_argument(
        "--account-token",
        default=_env("ACCOUNT_TOKEN", DEFAULT_ACCOUNT_TOKEN),
        help=f"reseller token for /v2/empresas (default {DEFAULT_ACCOUNT_TOKEN})",
    )
    parser.add_argument(
        "--companies",
        default=_env("COMPANIES"),
        help="JSON file: an array of companies (Focus empresa fields + tokens)",
    )
    parser.add_argument(
        "--state-file",
        default=_env("STATE_FILE"),
        help="load state from / save state to this JSON file",
    )
    parser.add_argument(
        "--processing-delay",
        type=float,
        default=float(_env("PROCESSING_DELAY", "0") or 0),
        help="seconds before an async document settles (default 0)",
    )
    parser.add_argument(
        "--hook-schedule-scale",
        type=float,
        default=float(_env("HOOK_SCHEDULE_SCALE", "1") or 1),
        help="multiplier of the hook retry schedule 1m/30m/1h/3h/24h",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=int(_env("RATE_LIMIT", "100") or 100),
        help="requests per minute per token; 0 disables (default 100)",
    )
    parser.add_argument(
        "--hang-seconds",
        type=float,
        default=float(_env("HANG_SECONDS", "30") or 30),
        help="how long the hang faults hold a request (default 30)",
    )
    parser.add_argument(
        "--nfce-efetivar-delay",
        type=float,
        default=float(_env("NFCE_EFETIVAR_DELAY", "60") or 60),
        help="seconds until an offline-contingency NFCe is made effective",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=(_env("VERBOSE", "") or "").lower() in ("1", "true"),
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    server = SandboxServer(
        host=args.host,
        port=args.port,
        account_token=args.account_token,
        companies_file=args.companies,
        state_file=args.state_file,
        processing_delay=args.processing_delay,
        hook_schedule_scale=args.hook_schedule_scale,
        rate_limit=args.rate_limit,
        hang_seconds=args.hang_seconds,
        nfce_efetivar_delay=args.nfce_efetivar_delay,
        verbose=args.verbose,
    )
    companies = len(server.store.companies)

    def ready(url: str) -> None:
        # The first line is machine-read (bench, tests): keep the URL its last word.
        print(
            f"Focus NFe sandbox ({companies} companies; account token "
            f"{args.account_token!r}) listening on {url}",
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
