"""Scale-out: the same pipeline on one Celery worker, then on four worker processes split by
queue (submit, sync, webhooks, archive), two web processes in both, all started from
deploy/Procfile.scale by honcho. The sandbox answers every Focus call after --delay seconds (a
slow Focus), so throughput is bound by waiting on I/O, which more workers overlap even on two
cores. Every note goes through its whole life: POST, submit, sync, settle, one webhook delivery
to a loopback receiver, its files archived.

Prints notes settled per second for both, and ends with one machine-readable line:

    scaleout workers=1 settled_per_s=... workers=4 settled_per_s=... ratio=...

    .venv/bin/python bench/bench_scaleout.py [--notes 60] [--delay 0.3] [--concurrency 2]

Needs the local Postgres and Redis (BENCH_PG / BENCH_REDIS); starts everything else on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("BENCH_REDIS", "redis://127.0.0.1:6379/5")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _receiver import Receiver
from _stack import BIN, ROOT, Stack, hammer, nfe, sandbox_companies, stack

# Process types of deploy/Procfile.scale for each configuration (besides web and beat).
CONFIGS = {1: ["worker"], 4: ["submit", "sync", "webhooks", "archive"]}


def scale_env(concurrency: int) -> dict[str, str]:
    return {
        "FG_INLINE_SUBMIT": "false",  # the tenant gets 202 at once; the workers do the rest
        "FG_FOCUS_HOOKS_ENABLED": "false",  # polling: more Focus calls per note, more I/O
        "FG_SYNC_FIRST_DELAY": "0.5",
        "FG_SYNC_SCHEDULE": "0.5,1,1,2",
        "FG_WEBHOOKS_ALLOW_LOOPBACK": "true",
        "FG_WEBHOOKS_REQUIRE_HTTPS": "false",
        "FG_WORKER_CONCURRENCY": str(concurrency),
        "FG_WEB_WORKERS": "2",
        # The fast paths move deliveries and files; their dispatchers are the safety net, and
        # fewer ticks leave the worker slots to the pipeline (dispatch-notes stays at 1 s).
        "FG_WEBHOOKS_DISPATCH_INTERVAL": "5",
        "FG_ARCHIVE_DISPATCH_INTERVAL": "5",
        "FG_CELERY_LOGLEVEL": os.environ.get("BENCH_LOGLEVEL", "WARNING"),
    }


@contextmanager
def procfile(s: Stack, processes: list[str]) -> Iterator[None]:
    """deploy/Procfile.scale under honcho. Honcho puts each process in a session of its own, so
    only honcho itself can stop them: SIGTERM to honcho, which stops and reaps its children."""
    s.env["FG_BIND"] = f"127.0.0.1:{s.web_port}"
    s.env["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    honcho = s.spawn("honcho", [str(BIN / "honcho"), "start", "-f",
                                str(ROOT / "deploy/Procfile.scale"), "-d", str(ROOT),
                                "--no-colour", "web", "beat", *processes])
    try:
        yield
    finally:
        honcho.send_signal(signal.SIGTERM)
        try:
            honcho.wait(timeout=60)
        except subprocess.TimeoutExpired:
            honcho.send_signal(signal.SIGINT)
            honcho.wait(timeout=30)


def run(workers: int, notes: int, delay: float, concurrency: int) -> dict[str, float]:
    with stack(f"scale{workers}", **scale_env(concurrency)) as s:
        import httpx

        s.start_sandbox(sandbox_companies())
        httpx.post(f"{s.sandbox_url}/__sandbox__/config", json={"response_delay": delay},
                   timeout=10).raise_for_status()
        tenant, key, _empresa = s.tenant_with_key()
        receiver = Receiver()
        from webhooks.endpoints import endpoint_create

        endpoint_create(tenant=tenant, environment="homologacao", url=receiver.url(),
                        event_types=["note.authorized"])
        with procfile(s, CONFIGS[workers]):
            from _stack import wait_port

            wait_port(s.web_port, timeout=60)
            time.sleep(3)  # let the workers connect before the clock starts
            from fiscal.models import Note
            from storage.models import Artifact

            bodies = [(f"/v2/nfe?ref=s{workers}-{i}", nfe(i)) for i in range(notes)]
            started = time.perf_counter()
            _post_secs, codes = hammer(s.web_url, key, bodies, threads=8)
            assert all(c == 202 for c in codes), set(codes)
            deadline = time.monotonic() + float(os.environ.get("BENCH_TIMEOUT", "240"))
            settled_at = None
            while time.monotonic() < deadline:
                left = Note.objects.exclude(status="autorizado", next_action="").count()
                if left == 0 and settled_at is None:
                    settled_at = time.perf_counter()
                if settled_at and len(receiver.arrivals) >= notes:
                    break
                time.sleep(0.2)
            if settled_at is None:
                raise SystemExit(f"workers={workers}: notes did not settle; logs in {s.tmp}")
            whole = time.perf_counter() - started
            archived = Artifact.objects.exclude(archived_at=None).count()
            delivered = len(receiver.arrivals)
            return {"settled_per_s": notes / (settled_at - started),
                    "delivered_per_s": delivered / whole, "delivered": delivered,
                    "archived": archived}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=60)
    parser.add_argument("--delay", type=float, default=0.3, help="seconds per Focus answer")
    parser.add_argument("--concurrency", type=int, default=2, help="pool size per worker")
    parser.add_argument("--only", type=int, choices=sorted(CONFIGS), help="one configuration")
    args = parser.parse_args()
    if args.only is not None:
        print(json.dumps(run(args.only, args.notes, args.delay, args.concurrency)), flush=True)
        return
    # Each configuration in a process of its own: Django settings are per process.
    results = {}
    for workers in sorted(CONFIGS):
        out = subprocess.run(
            [sys.executable, __file__, "--only", str(workers), "--notes", str(args.notes),
             "--delay", str(args.delay), "--concurrency", str(args.concurrency)],
            check=True, capture_output=True, text=True,
        ).stdout
        results[workers] = json.loads(out.strip().splitlines()[-1])
        r = results[workers]
        print(f"{workers} worker process(es) x {args.concurrency}, Focus {args.delay:.2f} s per "
              f"call: {args.notes} notes settled at {r['settled_per_s']:.2f}/s, "
              f"{r['delivered']} webhooks delivered, {r['archived']} files archived",
              flush=True)
    one, four = results[1]["settled_per_s"], results[4]["settled_per_s"]
    print(f"scaleout workers=1 settled_per_s={one:.2f} workers=4 settled_per_s={four:.2f} "
          f"ratio={four / one:.2f}", flush=True)


if __name__ == "__main__":
    main()
