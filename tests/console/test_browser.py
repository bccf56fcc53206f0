"""The staff console walked in a real browser: Playwright for Python driving Debian's chromium.

Log in as staff, find a note by its chave, read its timeline, re-sync it, replay its webhooks,
look at the dashboard, and check there is no add / delete on fiscal records. When a step fails,
a screenshot of the page is kept in var/screenshots/<test>.png.

Never ``playwright install``: the browser is the system's (``.ci/run`` installs it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from fiscal import steps
from fiscal.models import NextAction, Note, NoteEvent
from tests.console.conftest import STAFF_NAME, STAFF_PASSWORD
from tests.console.test_console import authorized_note
from tests.webhooks.conftest import create_endpoint, run_due
from webhooks.delivery import delivery_attempt
from webhooks.models import Attempt, Delivery, EndpointChange

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("chromium") is None and not Path(CHROMIUM).exists(),
                       reason="Debian's chromium is not installed (apt-get install chromium)"),
]


def deliver(enqueued: list[tuple[int, str]]) -> list[str]:
    """Here transactions commit, so the fast path claims deliveries on commit and queues them
    (the ``enqueued`` list stands in for Celery): run what it queued, then anything due."""
    outcomes = []
    while enqueued:
        delivery_id, token = enqueued.pop(0)
        outcomes.append(delivery_attempt(delivery_id=delivery_id,
                                                          claim_token=token).status)
    return outcomes + run_due()


@pytest.fixture
def page(monkeypatch) -> Iterator[object]:
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls between
    # browser steps are still synchronous, so Django's guard must be told.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(15_000)
            yield context.new_page()
        finally:
            browser.close()
            # ORM calls made while Playwright's loop ran may hold their own connection.
            connections.close_all()


def test_staff_walk_search_timeline_resync_replay_dashboard(
        request, page, live_server, settings, staff, actor, empresa, upstream,
        receiver, enqueued) -> None:
    # A long first poll: the note is read again only because staff asked.
    settings.FG_SYNC_FIRST_DELAY = 3600
    endpoint, _ = create_endpoint(actor, receiver.url())
    note = authorized_note(actor, upstream, "walk-1")
    assert deliver(enqueued) == ["succeeded"]
    delivery = Delivery.objects.get(event__note=note)
    base = live_server.url
    step = "start"
    try:
        step = "log in"
        page.goto(f"{base}/admin/login/?next=/admin/console/")
        page.fill("#id_username", STAFF_NAME)
        page.fill("#id_password", STAFF_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{base}/admin/console/")

        step = "search by chave"
        page.fill("#console-q", note.chave)
        page.click("#console-search input[type=submit]")
        page.wait_for_url(f"{base}/admin/console/notes/{note.pk}/")
        assert page.inner_text("#note-status") == "autorizado"

        step = "read the timeline"
        timeline = page.inner_text("#timeline")
        assert "created" in timeline and "status_changed" in timeline

        step = "re-sync"
        reads_before = NoteEvent.objects.filter(note=note, kind="upstream_answer").count()
        page.click("#resync")
        page.wait_for_selector("text=Sync requested")
        assert f"sync requested by {STAFF_NAME}" in page.inner_text("#timeline")
        note.refresh_from_db()
        assert note.next_action == NextAction.SYNC and note.next_action_at <= timezone.now()
        # The dispatcher picks it up now (it was due only because of the re-sync) and reads it.
        for note_id, _action, token in steps.dispatch_due_notes():
            steps.note_run_step(note_id=note_id, token=token)
        assert NoteEvent.objects.filter(note=note, kind="upstream_answer").count() \
            == reads_before + 1
        assert Note.objects.get(pk=note.pk).next_action == NextAction.NONE

        step = "replay webhooks"
        page.click("#replay")
        page.wait_for_selector("text=1 delivery(ies) of this note sent again")
        assert f"webhooks replayed by {STAFF_NAME}" in page.inner_text("#timeline")
        assert deliver(enqueued) == ["succeeded"]
        assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery.webhook_id] * 2
        assert Attempt.objects.filter(delivery=delivery).count() == 2
        page.reload()
        assert "Focus answered the read" in page.inner_text("#timeline")

        step = "dashboard"
        page.goto(f"{base}/admin/console/")
        for section in ("#pending", "#stuck", "#endpoints", "#archive", "#budgets"):
            assert page.is_visible(section), section
        assert "/ 100" in page.inner_text("#budgets")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "console-dashboard.png"), full_page=True)

        step = "disable and re-enable the endpoint"
        for action in ("disable", "reenable"):
            page.goto(f"{base}/admin/webhooks/endpoint/")
            page.check(f"input[name=_selected_action][value='{endpoint.pk}']")
            page.select_option("select[name=action]", action)
            page.click("button[name=index]")
            page.wait_for_selector("ul.messagelist")
        assert list(EndpointChange.objects.filter(endpoint=endpoint).order_by("id")
                    .values_list("kind", "by")) == [("disabled", STAFF_NAME),
                                                    ("enabled", STAFF_NAME)]
        page.goto(f"{base}/admin/webhooks/endpoint/{endpoint.pk}/change/")
        assert "Re-enabled by staff." in page.inner_text("#content-main")

        step = "no add or delete on fiscal records"
        page.goto(f"{base}/admin/fiscal/note/")
        # The sidebar lists every model: endpoints (configuration) keep their Add link, no
        # fiscal record has one.
        assert page.locator("a.addlink[href$='/admin/webhooks/endpoint/add/']").count() == 1
        for model in ("fiscal/note", "fiscal/fiscalevent", "fiscal/inutilizacao",
                      "fiscal/focushook", "storage/artifact", "webhooks/event",
                      "webhooks/delivery", "webhooks/attempt"):
            assert page.locator(f"a.addlink[href$='/admin/{model}/add/']").count() == 0, model
        assert page.locator("option[value=delete_selected]").count() == 0
        page.goto(f"{base}/admin/fiscal/note/{note.pk}/change/")
        assert page.locator("a.deletelink").count() == 0
        assert page.locator("input[name=_save]").count() == 0
        page.goto(f"{base}/admin/fiscal/fiscalevent/add/")
        assert "403" in page.title() or "Forbidden" in page.content()
        page.goto(f"{base}/admin/webhooks/delivery/")
        assert page.locator("option[value=delete_selected]").count() == 0
    except Exception:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{request.node.name}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"browser step {step!r} failed; screenshot kept in {shot}")
        raise
