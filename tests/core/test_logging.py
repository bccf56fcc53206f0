"""Log lines: JSON with what each line is about, UTC with Z, secrets redacted, one line each."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from core.logging import UTCFormatter, log_bind, log_clear, log_scope
from fiscal.models import Note, NoteStatus
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream, drive
from tests.sandbox.helpers import nfe_payload
from tests.support.logs import Captured, handler_for, json_lines


@pytest.fixture
def json_logs() -> Iterator[Captured]:
    with json_lines() as captured:
        yield captured


def test_a_note_life_logs_json_lines_with_request_tenant_note_and_upstream_ref(
        actor: Actor, other: Actor, empresa: Empresa, make_empresa, upstream: Upstream,
        json_logs: Captured) -> None:
    make_empresa(other.tenant, uf="PR", codigo_municipio="4106902")
    response = actor.client.post("/v2/nfe?ref=log-1", nfe_payload(VALID_CNPJ), format="json")
    assert response.status_code == 202, response.content
    request_id = response["X-Request-Id"]
    other_response = other.client.post("/v2/nfe?ref=log-1", nfe_payload(VALID_CNPJ),
                                       format="json")
    # (its company's token is not the sandbox's: Focus refuses it, which is logged too)
    note = Note.objects.get(tenant=actor.tenant, ref="log-1")
    other_note = Note.objects.get(tenant=other.tenant, ref="log-1")
    note = drive(note, upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO

    records = json_logs.records()  # every line parses
    assert records and all(r["ts"].endswith("Z") for r in records)
    created = [r for r in records if r["message"] == f"note {note.pk} created: accepted from "
               "the tenant"]
    assert len(created) == 1
    assert created[0]["request_id"] == request_id
    assert created[0]["tenant_id"] == actor.tenant.pk
    assert created[0]["note_id"] == note.pk
    assert created[0]["upstream_ref"] == note.upstream_ref
    # The other tenant's request: its own request id and tenant, its own note.
    other_lines = [r for r in records if r.get("request_id") == other_response["X-Request-Id"]]
    assert other_lines and {r["tenant_id"] for r in other_lines} == {other.tenant.pk}
    assert {r["note_id"] for r in other_lines if "note_id" in r} == {other_note.pk}
    # The worker side (here driven in-process): Focus calls carry the note they are for.
    focus = [r for r in records if r["logger"] == "fiscal.focus"
             and r.get("note_id") == note.pk]
    assert focus and all(r["upstream_ref"] == note.upstream_ref for r in focus)
    settled = [r for r in records if r.get("note_id") == note.pk
               and r["message"].endswith("-> autorizado")]
    assert len(settled) == 1 and settled[0]["level"] == "INFO"


def test_request_id_from_the_proxy_is_kept_and_a_malformed_one_replaced(
        actor: Actor, empresa: Empresa, json_logs: Captured) -> None:
    kept = actor.client.get("/v2/nfe/none", HTTP_X_REQUEST_ID="proxy-abc-123456")
    assert kept["X-Request-Id"] == "proxy-abc-123456"
    replaced = actor.client.get("/v2/nfe/none", HTTP_X_REQUEST_ID="<script> x")
    assert replaced["X-Request-Id"] != "<script> x"
    assert len(replaced["X-Request-Id"]) == 32
    # Nothing bound by a request outlives it.
    logging.getLogger("tests").warning("after the requests")
    assert "request_id" not in json_logs.records()[-1]
    assert "tenant_id" not in json_logs.records()[-1]


def test_a_json_line_is_one_line_even_with_a_traceback_and_keeps_secrets_out(
        json_logs: Captured) -> None:
    logger = logging.getLogger("tests.logging")
    with log_scope(note_id=7, upstream_ref="abc"):
        try:
            raise RuntimeError("Authorization: Bearer fg_test_Secret123\nsecond line")
        except RuntimeError:
            logger.exception("failed with key fg_live_AbC123 and\nmore", extra={"note_id": 8})
    lines = json_logs.lines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["message"] == "failed with key fg_live_[REDACTED] and\nmore"
    assert "Secret123" not in lines[0] and "AbC123" not in lines[0]
    assert "RuntimeError" in record["exc"]
    assert record["note_id"] == 8  # what the call passed wins over what was bound
    assert record["upstream_ref"] == "abc"
    assert record["level"] == "ERROR" and record["logger"] == "tests.logging"


def test_plain_lines_are_utc_iso8601_with_z_whatever_the_process_time_zone(monkeypatch) -> None:
    # Django sets TZ to TIME_ZONE (America/Sao_Paulo); the line must still read UTC.
    monkeypatch.setenv("TZ", "America/Sao_Paulo")
    time.tzset()
    try:
        formatter = UTCFormatter("%(asctime)s %(levelname)s %(name)s %(message)s%(context)s")
        handler, stream = handler_for(formatter)
        logger = logging.getLogger("tests.plain")
        logger.addHandler(handler)
        logger.propagate = False
        try:
            log_bind(request_id="r1", tenant_id=3)
            logger.warning("hello")
        finally:
            log_clear()
            logger.removeHandler(handler)
            logger.propagate = True
    finally:
        monkeypatch.undo()
        time.tzset()
    line = stream.getvalue().strip()
    stamp, rest = line.split(" ", 1)
    assert stamp.endswith("Z")
    written = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - written).total_seconds()) < 3600  # UTC, not UTC-3
    assert rest == "WARNING tests.plain hello [request_id=r1 tenant_id=3]"
