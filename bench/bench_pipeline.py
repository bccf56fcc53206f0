"""Pipeline: notes through web, worker and the sandbox (zero processing delay), with our Focus
hooks on and off. Prints notes settled per second, p50/p99 from POST to final status, and
Focus requests per settled note (aim: <= 1.2 with hooks, <= 3 without).

    .venv/bin/python bench/bench_pipeline.py [--notes 1000] [--threads 8]

Needs the local Postgres and Redis; starts everything else on loopback.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from _stack import hammer, nfe, sandbox_companies, stack


def run(notes: int, threads: int, hooks: bool) -> dict[str, float]:
    with stack("pipe", FG_FOCUS_HOOKS_ENABLED=str(hooks).lower(),
               FG_SYNC_FIRST_DELAY_HOOKED="30") as s:
        s.start_sandbox(sandbox_companies())
        _tenant, key, empresa = s.tenant_with_key()
        s.start_web()
        s.start_worker()
        if hooks:
            from fiscal.hooks import empresa_sync_hooks

            registered = empresa_sync_hooks(empresa=empresa)
            assert all(h.focus_id for h in registered), "hooks were not registered"
        from django.db.models import Count, Sum

        from fiscal.models import Note

        bodies = [(f"/v2/nfe?ref=p-{i}", nfe(i)) for i in range(notes)]
        started = time.perf_counter()
        post_secs, codes = hammer(s.web_url, key, bodies, threads)
        assert all(c in (201, 202) for c in codes), set(codes)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            left = Note.objects.exclude(status="autorizado", next_action="").count()
            if left == 0:
                break
            time.sleep(0.25)
        elapsed = time.perf_counter() - started
        done = Note.objects.filter(status="autorizado", next_action="")
        latencies = sorted(
            (n.settled_at - n.created_at).total_seconds()
            for n in done.only("settled_at", "created_at")
        )
        totals = done.aggregate(
            n=Count("id"), posts=Sum("submit_attempts"), reads=Sum("sync_attempts"),
        )
        requests = (totals["posts"] or 0) + (totals["reads"] or 0)
        return {
            "settled": totals["n"],
            "post_rate": notes / post_secs,
            "settled_rate": totals["n"] / elapsed,
            "p50": statistics.median(latencies),
            "p99": latencies[max(int(len(latencies) * 0.99) - 1, 0)],
            "per_note": requests / max(totals["n"], 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--only", choices=["on", "off"], help="one configuration, this process")
    args = parser.parse_args()
    if args.only is None:
        # Each configuration in a process of its own: Django settings are per process.
        for only in ("off", "on"):
            subprocess.run([sys.executable, __file__, "--notes", str(args.notes),
                            "--threads", str(args.threads), "--only", only], check=True)
        return
    hooks = args.only == "on"
    r = run(args.notes, args.threads, hooks)
    label = "hooks on " if hooks else "hooks off"
    print(f"{label}: {r['settled']} settled, {r['settled_rate']:.1f} notes/s settled "
          f"(POSTs accepted at {r['post_rate']:.1f}/s), p50 {r['p50']:.2f}s, "
          f"p99 {r['p99']:.2f}s, Focus requests per note {r['per_note']:.2f} "
          f"(aim <= {1.2 if hooks else 3})", flush=True)


if __name__ == "__main__":
    main()
