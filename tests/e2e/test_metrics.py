"""/metrics of a real stack: gunicorn (two workers) answers for what the Celery worker did."""

from __future__ import annotations

import httpx
import pytest

from fiscal.models import Note, NoteStatus
from tests.conftest import VALID_CNPJ
from tests.e2e.conftest import Stack, wait_until
from tests.metrics.conftest import parse
from tests.sandbox.helpers import nfe_payload

pytestmark = pytest.mark.slow


def test_the_webs_scrape_counts_the_workers_calls_whichever_gunicorn_worker_answers(
    e2e: Stack, tenant_key: str
) -> None:
    e2e.start_worker()
    with httpx.Client(base_url=e2e.web_url, auth=(tenant_key, ""), timeout=30) as web:
        # Queueing mode (FG_INLINE_SUBMIT=false): the worker POSTs and reads, never the web.
        response = web.post("/v2/nfe", params={"ref": "m-1"}, json=nfe_payload(VALID_CNPJ))
        assert response.status_code == 202, response.text
    wait_until(lambda: Note.objects.filter(ref="m-1", status=NoteStatus.AUTORIZADO,
                                           next_action="").exists(), 60, "the note to settle")
    note = Note.objects.get(ref="m-1")
    with httpx.Client(base_url=e2e.web_url, timeout=30) as scraper:
        # Several scrapes: each gunicorn worker must give the same, whole answer.
        for _ in range(6):
            scrape = parse(scraper.get("/metrics").text)
            assert scrape.value("fg_focus_requests_total", endpoint="POST /v2/nfe",
                                code="202") == 1
            assert scrape.value("fg_focus_requests_total", endpoint="GET /v2/nfe/{ref}",
                                code="200") == note.sync_attempts
            assert scrape.value("fg_notes_total", doc_type="nfe", status="autorizado") == 1
            assert scrape.value("fg_notes_total", doc_type="nfe",
                                status="processando_autorizacao") == 1
            assert scrape.value("fg_pending_notes", next_action="sync") == 0
            assert scrape.value("fg_celery_broker_up") == 1
            assert scrape.value("fg_celery_queue_depth", queue="submit") == 0
