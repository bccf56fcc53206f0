"""Accept path: notes accepted per second by POST /v2/nfe in queueing mode, against a baseline
endpoint of the same server that authenticates and inserts one row. Same run, same load.

    .venv/bin/python bench/bench_accept.py [--requests 1500] [--threads 8] [--profile DIR]

Needs the local Postgres and Redis. Prints both rates and their ratio (aim: >= 0.8), then one
machine-readable line (``RESULT bench=accept ...``). BENCH_REQUESTS sets --requests.
--profile: after the measured rounds, one more round of each endpoint under py-spy --gil (the
web's process tree), into DIR/accept.txt and DIR/baseline.txt (read with bench/pyspy_top.py);
the figures are not taken from these rounds.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import time
from pathlib import Path

from _stack import BIN, hammer, nfe, stack


def profiled(directory: Path, name: str, pid: int):  # type: ignore[no-untyped-def]
    directory.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([str(BIN / "py-spy"), "record", "--pid", str(pid), "--gil",
                             "--subprocesses", "--nonblocking", "--rate", "100", "--format",
                             "raw", "--output", str(directory / f"{name}.txt")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)  # py-spy attaches to every process of the tree first
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
    proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int,
                        default=int(os.environ.get("BENCH_REQUESTS", 1500)))
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--profile", help="directory for py-spy's samples of the web")
    args = parser.parse_args()
    with stack("accept", FG_INLINE_SUBMIT="false", FG_BENCH_ENDPOINTS="true") as s:
        _, key, _ = s.tenant_with_key()
        # CPU-bound Django on 2 cores: processes, not threads, carry the load.
        web = s.start_web(workers=4, threads=2)
        warm = [("/bench/baseline", {})] * 50 + [
            (f"/v2/nfe?ref=warm-{i}", nfe(i)) for i in range(50)
        ]
        hammer(s.web_url, key, warm, args.threads)
        n = args.requests
        results = {}
        # Alternate the two, twice, so that neither profits from a warmer machine.
        for round_ in range(2):
            secs, codes = hammer(s.web_url, key, [("/bench/baseline", {})] * n, args.threads)
            assert set(codes) == {201}, set(codes)
            results.setdefault("baseline", []).append(n / secs)
            bodies = [(f"/v2/nfe?ref=r{round_}-{i}", nfe(i)) for i in range(n)]
            secs, codes = hammer(s.web_url, key, bodies, args.threads)
            assert set(codes) == {202}, set(codes)
            results.setdefault("accept", []).append(n / secs)
        baseline = max(results["baseline"])
        accept = max(results["accept"])
        print(f"baseline (auth + insert one row): {baseline:8.1f} req/s")
        print(f"POST /v2/nfe (queueing mode):     {accept:8.1f} notes/s")
        print(f"ratio accept/baseline:            {accept / baseline:8.2f}  (aim >= 0.8)")
        print(f"RESULT bench=accept baseline_rps={baseline:.1f} accept_rps={accept:.1f} "
              f"ratio={accept / baseline:.2f}", flush=True)
        if args.profile:
            for name, path, status in (("accept", "/v2/nfe?ref=prof-", 202),
                                       ("baseline", "/bench/baseline", 201)):
                spy = profiled(Path(args.profile), name, web.pid)
                bodies = [(f"{path}{i}" if name == "accept" else path,
                           nfe(i) if name == "accept" else {}) for i in range(n)]
                _, codes = hammer(s.web_url, key, bodies, args.threads)
                stop(spy)
                assert set(codes) == {status}, set(codes)
            print(f"profiles in {args.profile}/{{accept,baseline}}.txt")


if __name__ == "__main__":
    main()
