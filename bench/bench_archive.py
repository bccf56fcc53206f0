"""Archive benchmark: files per second from Focus's file paths into S3, and memory while
archiving large files (streamed through a spool, never held whole).

    .venv/bin/python bench/bench_archive.py [--small 300] [--large 3] [--large-mb 50]

Everything runs on loopback and is started here: moto's S3 server (Object Lock bucket) and the
Focus sandbox hosting the files (generated bodies, streamed), each in its own process so that
only the gateway's archiving is measured; a throwaway Postgres database on BENCH_PG (the schema
has Postgres-only constraints), or BENCH_DATABASE_URL. Bounded well under two minutes.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MOTO = """
import logging, sys
logging.getLogger("werkzeug").setLevel(logging.ERROR)
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
print(f"http://{host}:{port}", flush=True)
sys.stdin.read()
"""


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[str]:
    """A helper process whose first line ends with its URL; it lives until stdin closes (moto)
    or it is terminated (the sandbox)."""
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                            cwd=ROOT, text=True)
    try:
        line = proc.stdout.readline().strip() if proc.stdout else ""
        url = line.rsplit(" ", 1)[-1]
        if not url.startswith("http"):
            raise RuntimeError(f"{args} did not start")
        yield url
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def host_files(focus_url: str, args: argparse.Namespace) -> None:
    """The bench's files on the sandbox: generated bodies, made as they are sent."""
    import httpx

    files = [(f"/arquivos_development/bench/small-{i}.xml", 8000, "application/xml")
             for i in range(args.small)]
    files += [(f"/arquivos_development/bench/large-{i}.pdf", int(args.large_mb * 1e6),
               "application/pdf") for i in range(args.large)]
    with httpx.Client(base_url=f"{focus_url}/__sandbox__", timeout=60) as control:
        for path, size, content_type in files:
            control.put(f"/files{path}", params={"generated_bytes": size},
                        headers={"Content-Type": content_type}).raise_for_status()


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakRss:
    """Samples this process's resident memory every few milliseconds."""

    def __init__(self) -> None:
        self.baseline = rss_bytes()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=300, help="small files (8 kB XML)")
    parser.add_argument("--large", type=int, default=3, help="large files")
    parser.add_argument("--large-mb", type=float, default=50.0)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="fg-bench-archive-"))
    bucket = f"fg-bench-{uuid.uuid4().hex[:10]}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FG_", "FOCUS_"))},
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1", "FG_VAR_DIR": str(tmp), "FG_LOG_LEVEL": "WARNING",
    }
    throwaway = None
    if os.environ.get("BENCH_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    else:
        from _stack import DB_PREFIX, PG, psql

        throwaway = f"{DB_PREFIX}_archive_{os.getpid()}"
        psql(f"DROP DATABASE IF EXISTS {throwaway} WITH (FORCE)")
        psql(f"CREATE DATABASE {throwaway}")
        env["DATABASE_URL"] = f"{PG}/{throwaway}"
    env.pop("CELERY_BROKER_URL", None)

    sandbox_cmd = [sys.executable, "-m", "sandbox", "--port", "0", "--rate-limit", "0"]
    with process([sys.executable, "-c", MOTO], env) as s3_url, \
            process(sandbox_cmd, env) as focus_url:
        host_files(focus_url, args)
        env.update(FG_STORAGE_BACKEND="s3", FG_S3_BUCKET=bucket, FG_S3_ENDPOINT_URL=s3_url,
                   FOCUS_URL_HOMOLOGACAO=focus_url, FOCUS_URL_PRODUCAO=focus_url)
        os.environ.clear()
        os.environ.update(env)
        try:
            run(args, s3_url, bucket)
        finally:
            if throwaway:
                from django.db import connections

                connections.close_all()
                psql(f"DROP DATABASE IF EXISTS {throwaway} WITH (FORCE)")


def run(args: argparse.Namespace, s3_url: str, bucket: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import boto3
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction

    from fiscal.changes import FiscalChange, publish
    from fiscal.models import Note
    from storage.archiving import archive_run_due
    from storage.models import Artifact, ArtifactState
    from tenants.services import empresa_create, tenant_create

    call_command("migrate", verbosity=0)
    boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1").create_bucket(
        Bucket=bucket, ObjectLockEnabledForBucket=True
    )
    settings.FG_CHANGE_SUBSCRIBERS = ["storage.scheduling.on_fiscal_change"]
    tenant = tenant_create(name="bench")
    empresa = empresa_create(tenant=tenant, data={
        "cnpj": "11222333000181", "nome": "Bench Ltda", "uf": "SP", "habilita_nfe": True,
        # A Focus token belongs to one tenant, and each run makes a new tenant in a database
        # that outlives the run: a token of its own each time.
        "token_homologacao": f"bench-focus-token-{uuid.uuid4().hex[:12]}",
    })
    authorized = datetime(2026, 3, 10, 12, tzinfo=UTC)

    def settle(index: int, path: str, run_id: str) -> None:
        note = Note.objects.create(
            tenant=tenant, empresa=empresa, environment="homologacao", doc_type="nfe",
            ref=f"{run_id}-{index}", upstream_ref=uuid.uuid4().hex, payload={},
            status="autorizado", authorized_at=authorized, chave=f"{run_id}{index:040d}",
            upstream={"status": "autorizado", "caminho_xml_nota_fiscal": path},
        )
        with transaction.atomic():
            publish(FiscalChange(type="note.authorized", tenant=tenant, empresa=empresa,
                                 data={}, note=note))

    def archive_everything() -> int:
        done = 0
        while True:
            counts = archive_run_due(limit=500)
            done += counts["archived"]
            if not counts["archived"] and not counts["retry"]:
                return done
            if counts["retry"]:
                raise RuntimeError("an archive attempt failed during the benchmark")

    # Warm-up: connections, imports, the bucket's Object Lock check.
    settle(0, "/arquivos_development/bench/small-0.xml", "w")
    archive_everything()

    # 1. Throughput: settled notes -> files in S3 (download, hash, create-only put, row).
    for index in range(1, args.small):
        settle(index, f"/arquivos_development/bench/small-{index}.xml", "s")
    started = time.perf_counter()
    with PeakRss() as small_rss:
        small_done = archive_everything()
    small_seconds = time.perf_counter() - started
    rate = small_done / small_seconds

    # 2. Memory: the same path with large files; RSS must not grow with the file size.
    for index in range(args.large):
        settle(index, f"/arquivos_development/bench/large-{index}.pdf", "l")
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    with PeakRss() as large_rss:
        large_done = archive_everything()
    large_seconds = time.perf_counter() - started
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    large_bytes = large_done * args.large_mb * 1e6

    archived = Artifact.objects.filter(state=ArtifactState.ARCHIVED).count()
    assert archived == args.small + args.large, archived

    print("archive benchmark (loopback: sandbox files -> gateway -> moto S3 with Object Lock)")
    print(f"  small files : {small_done} x 8 kB in {small_seconds:.2f}s = "
          f"{rate:.1f} artifacts/s ({1000 / rate:.1f} ms each, one worker)")
    print(f"  large files : {large_done} x {args.large_mb:.0f} MB in {large_seconds:.2f}s = "
          f"{large_bytes / 1e6 / large_seconds:.1f} MB/s")
    print(f"  peak RSS growth, small files : {small_rss.growth_mb:6.1f} MB")
    print(f"  peak RSS growth, large files : {large_rss.growth_mb:6.1f} MB "
          f"(process peak {maxrss_before / 1e6:.0f} -> {maxrss_after / 1e6:.0f} MB)")
    ratio = large_rss.growth_mb / (args.large_mb or 1)
    print(f"  ratio RSS growth / file size : {ratio:.3f} "
          f"(1.0 would mean each file held whole in memory)")
    print(f"  ratio large/small RSS growth : {large_rss.growth_mb - small_rss.growth_mb:+.1f} MB "
          f"for files {args.large_mb * 1e6 / 8000:.0f}x larger")
    print(f"RESULT bench=archive artifacts_per_s={rate:.1f} "
          f"large_mb_per_s={large_bytes / 1e6 / large_seconds:.1f} "
          f"rss_growth_per_file_size={ratio:.3f}", flush=True)


if __name__ == "__main__":
    main()
