"""Webhook delivery: throughput, and isolation from another tenant's hanging endpoint.

Runs the real path end to end on loopback: events published inside transactions in this
process (as the note lifecycle does), the on-commit fast path and the beat dispatcher enqueueing
through Redis, a real Celery worker (prefork, queue ``webhooks``) signing and POSTing to
receivers served by this process, Postgres as the schedule.

1. deliveries/second: a backlog of deliveries to four healthy endpoints, released at once.
2. p95 latency (publish -> receiver) of healthy tenants' endpoints, first alone, then while
   another tenant's endpoint hangs (never answers; each attempt runs to the timeout).

    .venv/bin/python bench/bench_webhooks.py   (BENCH_PG / BENCH_REDIS to point elsewhere)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

os.environ.setdefault("BENCH_REDIS", "redis://127.0.0.1:6379/13")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _receiver import Receiver
from _stack import BIN, stack

WORKERS = int(os.environ.get("BENCH_WORKERS", "8"))
BACKLOG_EVENTS = int(os.environ.get("BENCH_BACKLOG_EVENTS", "400"))
RATE = 20.0  # healthy events per second in the latency phases
PHASE_SECONDS = 6.0


def make_tenant(name: str, cnpj: str = "11222333000181"):  # type: ignore[no-untyped-def]
    from tenants.services import empresa_create, tenant_create

    tenant = tenant_create(name=name)
    empresa = empresa_create(tenant=tenant, data={
        "cnpj": cnpj, "nome": f"{name} Ltda", "uf": "PR", "habilita_nfe": True,
    })
    return tenant, empresa


def publish(empresa) -> int:  # type: ignore[no-untyped-def]
    """One note authorized, published as the lifecycle does; returns the event id."""
    from django.db import transaction

    from fiscal.changes import ChangeType, FiscalChange
    from fiscal.changes import publish as publish_change
    from fiscal.models import Note
    from fiscal.render import note_consulta

    ref = uuid.uuid4().hex[:12]
    note = Note.objects.create(
        tenant=empresa.tenant, empresa=empresa, environment="homologacao", doc_type="nfe",
        ref=ref, upstream_ref=uuid.uuid4().hex, payload={}, status="autorizado",
        next_action="", upstream={"cnpj_emitente": empresa.cnpj, "ref": ref,
                                  "status": "autorizado", "status_sefaz": "100"},
    )
    with transaction.atomic():
        publish_change(FiscalChange(type=ChangeType.NOTE_AUTHORIZED, tenant=note.tenant,
                                    empresa=empresa, data=note_consulta(note), note=note))
    return note.webhook_events.get().pk


def wait_until(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 2 else values[0]


def latency_phase(healthy: list, receiver: Receiver, hanging_empresa=None) -> list[float]:  # type: ignore[no-untyped-def]
    """Publish healthy events at RATE/s for PHASE_SECONDS (and, if given, a burst to the
    hanging tenant first); return publish->arrival latencies of the healthy ones."""
    from webhooks.models import Delivery

    if hanging_empresa is not None:
        for _ in range(40):  # far more than its cap: all of them stuck or queued behind it
            publish(hanging_empresa)
    sent: dict[int, float] = {}
    started = time.monotonic()
    i = 0
    while time.monotonic() - started < PHASE_SECONDS:
        empresa = healthy[i % len(healthy)]
        t0 = time.time()
        sent[publish(empresa)] = t0
        i += 1
        if hanging_empresa is not None and i % 10 == 0:
            publish(hanging_empresa)  # it keeps getting events meanwhile
        time.sleep(max(0.0, started + i / RATE - time.monotonic()))
    ids = dict(Delivery.objects.filter(event_id__in=sent).values_list("webhook_id", "event_id"))
    wait_until(lambda: all(w in receiver.arrivals for w in ids), timeout=30)
    return [receiver.arrivals[w] - sent[e] for w, e in ids.items() if w in receiver.arrivals]


def main() -> None:
    began = time.monotonic()
    with stack(
        "webhooks", FG_WEBHOOKS_ALLOW_LOOPBACK="1", FG_WEBHOOKS_REQUIRE_HTTPS="0",
        FG_WEBHOOKS_TIMEOUT="10",
    ) as s:
        healthy_rx, hanging_rx = Receiver(), Receiver(hang=True)
        s.spawn("worker", [str(BIN / "celery"), "-A", "config", "worker", "-B", "-Q", "webhooks",
                           "--concurrency", str(WORKERS), "--loglevel", "WARNING",
                           "--without-gossip", "--without-mingle",
                           "--schedule", str(s.tmp / "beat")])
        from webhooks.endpoints import endpoint_create, endpoint_disable, endpoint_enable
        from webhooks.models import Delivery, Endpoint

        # --- 1. throughput: a backlog released at once
        tenant, empresa = make_tenant("Throughput")
        endpoints = [
            endpoint_create(tenant=tenant, environment="homologacao",
                                     url=healthy_rx.url(f"/t{i}")).endpoint
            for i in range(4)
        ]
        # Warm-up: the worker is up when one delivery has gone through.
        publish(empresa)
        if not wait_until(lambda: healthy_rx.hits >= 4, timeout=60):
            raise SystemExit("the webhooks worker did not start; see " + str(s.tmp))
        for endpoint in endpoints:
            endpoint_disable(endpoint=endpoint, reason="bench", notify=False)
        for _ in range(BACKLOG_EVENTS):
            publish(empresa)
        total = Delivery.objects.filter(tenant=tenant, state="pending").count()
        hits_before = healthy_rx.hits
        t0 = time.perf_counter()
        for endpoint in Endpoint.objects.filter(pk__in=[e.pk for e in endpoints]):
            endpoint_enable(endpoint=endpoint)
        wait_until(lambda: healthy_rx.hits - hits_before >= total, timeout=60)
        elapsed = time.perf_counter() - t0
        done = Delivery.objects.filter(tenant=tenant, state="succeeded").count() - 4
        throughput = done / elapsed

        # --- 2. latency of healthy endpoints, alone and beside a hanging one
        healthy = []
        for n in range(3):
            t, e = make_tenant(f"Healthy {n}")
            endpoint_create(tenant=t, environment="homologacao",
                                     url=healthy_rx.url(f"/h{n}"))
            healthy.append(e)
        alone = latency_phase(healthy, healthy_rx)
        hang_tenant, hang_empresa = make_tenant("Hanging")
        endpoint_create(tenant=hang_tenant, environment="homologacao",
                                 url=hanging_rx.url("/hang"))
        beside = latency_phase(healthy, healthy_rx, hanging_empresa=hang_empresa)
        hanging_in_flight = hanging_rx.hits
        hanging_rx.stop()
        healthy_rx.stop()

    a, b = p95(alone), p95(beside)
    print(f"workers={WORKERS} cap per endpoint={os.environ.get('FG_WEBHOOKS_MAX_IN_FLIGHT', 4)}")
    print(f"throughput: {done} deliveries in {elapsed:.2f}s = {throughput:.0f} deliveries/s "
          f"(4 endpoints, signed, Redis + Celery prefork + Postgres)")
    print(f"healthy p95 latency alone:               {a * 1000:7.1f} ms  (n={len(alone)})")
    print(f"healthy p95 latency beside a hanging one: {b * 1000:7.1f} ms  (n={len(beside)}; "
          f"hanging endpoint reached {hanging_in_flight} times)")
    print(f"ratio {b / a:.2f}x, difference {(b - a) * 1000:.1f} ms "
          f"({'under' if b - a < 1.0 else 'OVER'} one second)")
    print(f"total bench time {time.monotonic() - began:.0f}s")
    print(f"RESULT bench=webhooks deliveries_per_s={throughput:.1f} "
          f"p95_alone_ms={a * 1000:.1f} p95_beside_hanging_ms={b * 1000:.1f}", flush=True)


if __name__ == "__main__":
    main()
