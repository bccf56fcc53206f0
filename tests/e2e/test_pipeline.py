"""Failure paths end to end: web and worker processes, Redis, Postgres, the sandbox over HTTP.

In each, every note reaches its final status and the sandbox counts exactly one fiscal
document per note.
"""

from __future__ import annotations

import signal

import httpx
import pytest

from fiscal.models import Note, NoteEvent, NoteStatus
from tests.conftest import VALID_CNPJ
from tests.e2e.conftest import Stack, wait_until
from tests.sandbox.helpers import nfe_payload, nfse_payload

pytestmark = pytest.mark.slow


def emit_many(stack: Stack, key: str, count: int, prefix: str) -> list[str]:
    refs = []
    with httpx.Client(base_url=stack.web_url, auth=(key, ""), timeout=30) as web:
        for i in range(count):
            doc_type, payload = (("nfse", nfse_payload(VALID_CNPJ)) if i % 3 == 2
                                 else ("nfe", nfe_payload(VALID_CNPJ)))
            response = web.post(f"/v2/{doc_type}", params={"ref": f"{prefix}-{i}"}, json=payload)
            assert response.status_code == 202, response.text
            assert response.json()["status"] == "processando_autorizacao"
            refs.append(f"{prefix}-{i}")
    return refs


def assert_all_settled_once(stack: Stack, refs: list[str], timeout: float = 180) -> None:
    # A bound, not a speed check: with half the calls hanging 2 s on one worker, an unlucky
    # run of faults took a note past 90 s on a fresh CI machine.
    def settled() -> bool:
        return Note.objects.filter(ref__in=refs, status=NoteStatus.AUTORIZADO,
                                   next_action="").count() == len(refs)

    try:
        wait_until(settled, timeout, f"{len(refs)} notes to settle")
    except AssertionError:
        print(stack.logs())
        raise
    with stack.control as control:
        for note in Note.objects.filter(ref__in=refs):
            rows = control.get("/counters", params={"ref": note.upstream_ref}).json()["counters"]
            assert len(rows) == 1, (note.ref, rows)
            assert rows[0]["documents_created"] == 1, (note.ref, rows[0])
            assert rows[0]["duplicates"] == 0


@pytest.mark.parametrize(
    "mode", ["5xx", "429", "reset", "hang", "accept_then_hang", "malformed_json"]
)
def test_faults_on_every_call_still_give_one_document_per_note(
    e2e: Stack, tenant_key: str, mode: str
) -> None:
    with e2e.control as control:
        if mode == "429":
            # Focus's window is a minute; a 2 s window keeps the test short, same behaviour.
            control.post("/config", json={"rate_limit_window": 2})
        # Half of every call to Focus fails this way, reads and POSTs alike.
        control.post("/faults", json={"mode": mode, "fraction": 0.5, "path_prefix": "/v2/nf",
                                      "hang_seconds": 4})
    e2e.start_worker()
    refs = emit_many(e2e, tenant_key, 6, mode)
    assert_all_settled_once(e2e, refs)


def test_worker_killed_in_the_middle_of_a_submit(e2e: Stack, tenant_key: str) -> None:
    with e2e.control as control:
        # Focus creates the document and never answers: the worker is stuck in the POST.
        control.post("/faults", json={"mode": "accept_then_hang", "count": 1,
                                      "methods": ["POST"], "path_prefix": "/v2/nfe",
                                      "hang_seconds": 60})
    worker = e2e.start_worker()
    [ref] = emit_many(e2e, tenant_key, 1, "kill")
    note = Note.objects.get(ref=ref)

    def posted() -> bool:
        with e2e.control as control:
            rows = control.get("/counters", params={"ref": note.upstream_ref}).json()
        return bool(rows["counters"]) and rows["counters"][0]["posts"] == 1

    wait_until(posted, 30, "the worker to POST")
    worker.kill(signal.SIGKILL)
    e2e.procs.pop("worker")
    note.refresh_from_db()
    # Marked in doubt before the POST left: whoever comes next reads first.
    assert note.in_doubt and note.next_action == "sync"
    with e2e.control as control:
        control.delete("/faults")
    e2e.start_worker("worker2")
    assert_all_settled_once(e2e, [ref])
    with e2e.control as control:
        rows = control.get("/counters", params={"ref": note.upstream_ref}).json()["counters"]
    assert rows[0]["posts"] == 1  # never sent twice
    note.refresh_from_db()
    assert note.events.filter(kind=NoteEvent.Kind.UPSTREAM_ANSWER,
                              message="Focus answered the read").exists()


def test_broker_down_while_tenants_keep_emitting(e2e: Stack, tenant_key: str) -> None:
    e2e.stop_redis()
    # The web cannot enqueue: the notes are accepted all the same, recorded in Postgres.
    refs = emit_many(e2e, tenant_key, 6, "nobroker")
    assert Note.objects.filter(ref__in=refs, status=NoteStatus.PROCESSANDO).count() == 6
    e2e.start_redis()
    e2e.start_worker()
    assert_all_settled_once(e2e, refs)
