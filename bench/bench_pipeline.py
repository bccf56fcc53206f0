"""Pipeline: notes through web, worker, beat and the sandbox (zero processing delay), with our
Focus hooks on and off, and a tenant webhook endpoint receiving every note's events.

Prints notes settled per second, p50/p99 from POST to final status, Focus requests per settled
note (aim: <= 1.05 with hooks, <= 2 without), the latency from Focus's authorization (the
sandbox's clock) to the tenant's webhook, and what a note costs: CPU of the gateway's processes
(the sandbox's and Postgres's apart), SQL statements, Postgres transactions, Celery messages and
HTTP connections per settled note, and RSS growth per process role. The last line is
machine-readable (``RESULT bench=pipeline ... key=value ...``).

    .venv/bin/python bench/bench_pipeline.py [--notes 1000] [--threads 8] [--rate 0]
        [--only on|off] [--no-webhook] [--profile DIR [--profile-gil]] [--report FILE.json]

--rate offers notes at that many per second (0: as fast as the client threads go). --profile
samples web and worker with py-spy during the measured window (slower run; use it for the
profile, not the figures). Sizes also from the environment: BENCH_NOTES, BENCH_RATE.
Needs the local Postgres and Redis; starts everything else on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from _measure import (
    Sampler,
    by_statement,
    counts_delta,
    pg_totals,
    read_counts,
    short,
    wait_for_flush,
)
from _receiver import Receiver
from _stack import BIN, hammer, nfe, sandbox_companies, stack

WARMUP_NOTES = 20


def by_event_and_ref(headers: object, body: bytes) -> tuple[str, str]:
    """The pipeline's key: (event type, note ref), so arrivals are looked up by note."""
    try:
        event = json.loads(body)
        return str(event.get("type")), str((event.get("data") or {}).get("ref"))
    except ValueError:
        return "?", "?"


def authorized(receiver: Receiver, refs: list[str]) -> int:
    return sum(("note.authorized", r) in receiver.arrivals for r in refs)


def offer(url: str, key: str, bodies: list[tuple[str, dict]], threads: int,
          rate: float) -> tuple[float, list[int]]:
    """POST every body; at `rate` per second if given (the k-th at start + k/rate)."""
    if rate <= 0:
        return hammer(url, key, bodies, threads)
    statuses: list[int] = []
    start = time.perf_counter() + 0.1

    def run(first: int) -> None:
        with httpx.Client(base_url=url, auth=(key, ""), timeout=60) as client:
            for k in range(first, len(bodies), threads):
                time.sleep(max(0.0, start + k / rate - time.perf_counter()))
                path, body = bodies[k]
                statuses.append(client.post(path, json=body).status_code)

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.perf_counter() - start, statuses


def wait_settled(prefix: str, timeout: float = 600) -> None:
    from fiscal.models import Note

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = (Note.objects.filter(ref__startswith=prefix)
                .exclude(status="autorizado", next_action="").count())
        if left == 0:
            return
        time.sleep(0.25)
    raise SystemExit(f"notes {prefix}* did not settle in {timeout:.0f}s")


def wait_webhooks(receiver: Receiver, refs: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while authorized(receiver, refs) < len(refs) and time.monotonic() < deadline:
        time.sleep(0.1)


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * q), len(ordered) - 1)]


def start_profilers(directory: Path, pids: dict[str, int],
                    gil: bool) -> list[subprocess.Popen]:
    """py-spy on each process tree. Without `gil` a sample is any thread not idle in a known
    wait (time on Postgres and Redis round trips included); with it, only the GIL's holder
    (Python CPU)."""
    directory.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([str(BIN / "py-spy"), "record", "--pid", str(pid),
                              *(["--gil"] if gil else []),
                              "--subprocesses", "--nonblocking", "--rate", "100",
                              "--format", "raw", "--output", str(directory / f"{role}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for role, pid in pids.items()]


def stop_profilers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
    for proc in procs:
        proc.wait(timeout=60)


def run(args: argparse.Namespace, hooks: bool) -> dict[str, Any]:
    with stack("pipe", FG_FOCUS_HOOKS_ENABLED=str(hooks).lower(),
               FG_SYNC_FIRST_DELAY_HOOKED="30", FG_WEBHOOKS_ALLOW_LOOPBACK="1",
               FG_WEBHOOKS_REQUIRE_HTTPS="0") as s:
        sandbox = s.start_sandbox(sandbox_companies())
        tenant, key, empresa = s.tenant_with_key()
        web = s.start_web()
        worker = s.start_worker(queues="default,submit,sync,webhooks", beat=False)
        beat = s.start_beat()
        if hooks:
            from fiscal.hooks import empresa_sync_hooks

            registered = empresa_sync_hooks(empresa=empresa)
            assert all(h.focus_id for h in registered), "hooks were not registered"
        receiver = Receiver(by_event_and_ref) if args.webhook else None
        if receiver is not None:
            from webhooks.endpoints import endpoint_create

            endpoint_create(tenant=tenant, environment="homologacao",
                            url=receiver.url())
        from django.db import connection

        from fiscal.models import Note

        # Warm-up: imports, connections and pools of every process, outside the window.
        warm = [f"w-{i}" for i in range(WARMUP_NOTES)]
        offer(s.web_url, key, [(f"/v2/nfe?ref={r}", nfe(i)) for i, r in enumerate(warm)],
              args.threads, 0)
        wait_settled("w-")
        if receiver is not None:
            wait_webhooks(receiver, warm)

        connection.ensure_connection()
        sampler = Sampler({"web": web.pid, "worker": worker.pid, "beat": beat.pid,
                           "sandbox": sandbox.pid}, pg_db=s.db,
                          pg_exclude={connection.connection.info.backend_pid})
        wait_for_flush()
        counts_before = read_counts(s.counts_dir)
        xacts_before, sessions_before = pg_totals(s.db)
        profilers = (start_profilers(Path(args.profile) / ("on" if hooks else "off"),
                                     {"web": web.pid, "worker": worker.pid},
                                     args.profile_gil)
                     if args.profile else [])
        hits_before = receiver.hits if receiver else 0
        hook_posts_before = len(httpx.get(f"{s.sandbox_url}/__sandbox__/hook-deliveries",
                                          timeout=60).json()["deliveries"])
        sampler.begin()

        refs = [f"p-{i}" for i in range(args.notes)]
        started = time.perf_counter()
        post_secs, codes = offer(s.web_url, key,
                                 [(f"/v2/nfe?ref={r}", nfe(i)) for i, r in enumerate(refs)],
                                 args.threads, args.rate)
        assert all(c in (201, 202) for c in codes), set(codes)
        wait_settled("p-")
        elapsed = time.perf_counter() - started
        if receiver is not None:
            wait_webhooks(receiver, refs)

        sampler.end()
        stop_profilers(profilers)
        wait_for_flush()
        counts = counts_delta({p: d for p, d in counts_before.items() if p != os.getpid()},
                              {p: d for p, d in read_counts(s.counts_dir).items()
                               if p != os.getpid()})
        xacts_after, sessions_after = pg_totals(s.db)
        xacts, sessions = xacts_after - xacts_before, sessions_after - sessions_before
        driver = counts_delta(counts_before, read_counts(s.counts_dir))  # minus gateway below
        driver_sql = sum(driver.sql.values()) - sum(counts.sql.values())

        from django.db.models import Count, Sum

        done = Note.objects.filter(ref__startswith="p-", status="autorizado", next_action="")
        rows = list(done.values_list("ref", "upstream_ref", "created_at", "settled_at"))
        totals = done.aggregate(n=Count("id"), posts=Sum("submit_attempts"),
                                reads=Sum("sync_attempts"))
        settled = totals["n"]
        docs = httpx.get(f"{s.sandbox_url}/__sandbox__/documents", timeout=60).json()
        authorized_at = {d["ref"]: d["authorized_at"] for d in docs["documents"]
                         if d.get("authorized_at")}
        hook_posts = len(httpx.get(f"{s.sandbox_url}/__sandbox__/hook-deliveries",
                                   timeout=60).json()["deliveries"]) - hook_posts_before
        webhook_lat = []
        if receiver is not None:
            for ref, upstream_ref, _c, _s in rows:
                arrived = receiver.arrivals.get(("note.authorized", ref))
                if arrived is not None and upstream_ref in authorized_at:
                    webhook_lat.append(arrived - authorized_at[upstream_ref])
        latencies = [(st - cr).total_seconds() for _r, _u, cr, st in rows]

        per = max(settled, 1)
        roles = ("web", "worker", "beat")
        rss = {role: sampler.rss(role) for role in roles}
        ports = {str(s.sandbox_port): "focus",
                 str(receiver.port) if receiver else "-": "webhook"}
        deliveries = receiver.hits - hits_before if receiver else 0
        return {
            "hooks": hooks, "notes": args.notes, "rate": args.rate, "settled": settled,
            "settled_per_s": settled / elapsed, "post_rate": args.notes / post_secs,
            "cpu_ms_per_note": 1000 * sum(sampler.cpu(r) for r in roles) / per,
            "cpu_ms_by_role": {r: 1000 * sampler.cpu(r) / per for r in roles},
            "sandbox_cpu_ms_per_note": 1000 * sampler.cpu("sandbox") / per,
            "postgres_cpu_ms_per_note": 1000 * sampler.cpu("postgres") / per,
            "sql_per_note": sum(counts.sql.values()) / per,
            "sql_by_role": {r: n / per for r, n in counts.sql_by_role.items()},
            "xacts_per_note": (xacts - driver_sql) / per,
            "pg_sessions_per_note": sessions / per,
            "db_connects_per_note": {r: n / per for r, n in counts.db_connects.items()},
            "focus_requests_per_note": ((totals["posts"] or 0) + (totals["reads"] or 0)) / per,
            "focus_hook_posts_per_note": hook_posts / per,
            "celery_msgs_per_note": sum(counts.published.values()) / per,
            "celery_by_task": {t: n / per for t, n in counts.published.most_common()},
            "http_requests_per_note": {ports.get(p, p): n / per
                                       for p, n in counts.requests.items()},
            "http_connects_per_note": {ports.get(p, p): n / per
                                       for p, n in counts.connects.items()},
            "webhook_deliveries": deliveries,
            "webhook_connects_per_delivery": (counts.connects.get(str(receiver.port), 0)
                                              / max(deliveries, 1)) if receiver else 0.0,
            "p50_s": statistics.median(latencies), "p99_s": quantile(latencies, 0.99),
            "webhook_n": len(webhook_lat),
            "webhook_p50_s": quantile(webhook_lat, 0.5),
            "webhook_p99_s": quantile(webhook_lat, 0.99),
            "rss_mb": {r: (a / 1e6, b / 1e6) for r, (a, b) in rss.items()},
            "rss_growth": {r: (b - a) / a if a else 0.0 for r, (a, b) in rss.items()},
            "sql_statements_per_note": [
                (n / per, short(sql)) for sql, n in by_statement(counts.sql).most_common()
            ],
        }


def report(r: dict[str, Any]) -> None:
    label = "hooks on " if r["hooks"] else "hooks off"
    aim = 1.05 if r["hooks"] else 2.0
    print(f"{label}: {r['settled']} settled, {r['settled_per_s']:.1f} notes/s settled "
          f"(POSTs accepted at {r['post_rate']:.1f}/s), p50 {r['p50_s']:.2f}s, "
          f"p99 {r['p99_s']:.2f}s, Focus requests per note {r['focus_requests_per_note']:.2f} "
          f"(aim <= {aim})", flush=True)
    print(f"  CPU ms per note: gateway {r['cpu_ms_per_note']:.1f} ("
          + ", ".join(f"{k} {v:.1f}" for k, v in r["cpu_ms_by_role"].items())
          + f"); apart: sandbox {r['sandbox_cpu_ms_per_note']:.1f}, "
          f"postgres {r['postgres_cpu_ms_per_note']:.1f}")
    print(f"  SQL statements per note {r['sql_per_note']:.1f} ("
          + ", ".join(f"{k} {v:.1f}" for k, v in sorted(r["sql_by_role"].items()))
          + f"), Postgres transactions per note {r['xacts_per_note']:.1f}, "
          f"Postgres connections opened per note {r['pg_sessions_per_note']:.2f} (Django: "
          + ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["db_connects_per_note"].items()))
          + ")")
    print(f"  Celery messages per note {r['celery_msgs_per_note']:.2f} ("
          + ", ".join(f"{k.rsplit('.', 1)[-1]} {v:.2f}" for k, v in r["celery_by_task"].items())
          + ")")
    print("  HTTP per note: requests " + ", ".join(
        f"{k} {v:.2f}" for k, v in r["http_requests_per_note"].items())
        + "; connections opened " + ", ".join(
        f"{k} {v:.2f}" for k, v in r["http_connects_per_note"].items())
        + f"; Focus hook POSTs {r['focus_hook_posts_per_note']:.2f}")
    if r["webhook_n"]:
        print(f"  webhook latency (Focus authorization -> tenant receiver): "
              f"p50 {r['webhook_p50_s']:.2f} s, p99 {r['webhook_p99_s']:.2f} s "
              f"(n={r['webhook_n']}; {r['webhook_connects_per_delivery']:.2f} connections "
              f"per delivery)")
    print("  RSS start -> end: " + ", ".join(
        f"{k} {a:.0f} -> {b:.0f} MB ({r['rss_growth'][k] * 100:+.1f}%)"
        for k, (a, b) in r["rss_mb"].items()))
    print("  SQL per settled note by statement (top 25):")
    for n, sql in r["sql_statements_per_note"][:25]:
        print(f"    {n:6.2f}  {sql}")
    fields = {
        "settled_per_s": f"{r['settled_per_s']:.2f}",
        "cpu_ms_per_note": f"{r['cpu_ms_per_note']:.1f}",
        "sql_per_note": f"{r['sql_per_note']:.1f}",
        "focus_requests_per_note": f"{r['focus_requests_per_note']:.2f}",
        "p50_s": f"{r['p50_s']:.2f}", "p99_s": f"{r['p99_s']:.2f}",
        "sandbox_cpu_ms_per_note": f"{r['sandbox_cpu_ms_per_note']:.1f}",
        "postgres_cpu_ms_per_note": f"{r['postgres_cpu_ms_per_note']:.1f}",
        "xacts_per_note": f"{r['xacts_per_note']:.1f}",
        "pg_sessions_per_note": f"{r['pg_sessions_per_note']:.2f}",
        "celery_msgs_per_note": f"{r['celery_msgs_per_note']:.2f}",
        "webhook_p50_s": f"{r['webhook_p50_s']:.2f}",
        "webhook_p99_s": f"{r['webhook_p99_s']:.2f}",
        **{f"rss_growth_{k}": f"{v * 100:+.1f}%" for k, v in r["rss_growth"].items()},
    }
    print(f"RESULT bench=pipeline hooks={'on' if r['hooks'] else 'off'} notes={r['notes']} "
          f"rate={r['rate']:g} settled={r['settled']} "
          + " ".join(f"{k}={v}" for k, v in fields.items()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=int(os.environ.get("BENCH_NOTES", 1000)))
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rate", type=float, default=float(os.environ.get("BENCH_RATE", 0)))
    parser.add_argument("--only", choices=["on", "off"], help="one configuration, this process")
    parser.add_argument("--no-webhook", dest="webhook", action="store_false")
    parser.add_argument("--profile", help="directory for py-spy's samples of web and worker")
    parser.add_argument("--profile-gil", action="store_true",
                        help="profile only the thread holding the GIL (Python CPU)")
    parser.add_argument("--report", help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.only is None:
        # Each configuration in a process of its own: Django settings are per process.
        for only in ("off", "on"):
            subprocess.run([sys.executable, __file__, *sys.argv[1:], "--only", only],
                           check=True)
        return
    r = run(args, hooks=args.only == "on")
    if args.report:
        out = Path(args.report.replace(".json", f"-{args.only}.json"))
        out.write_text(json.dumps(r, indent=1, default=str))
    report(r)


if __name__ == "__main__":
    main()
