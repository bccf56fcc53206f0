from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from fiscal.render import note_consulta
from tests.conftest import Actor
from tests.support.file_links import comparable
from tests.webhooks.conftest import make_note, publish_note


def test_the_feed_returns_events_in_sequence_after_a_cursor(actor: Actor, other: Actor, empresa,
                                                            make_empresa) -> None:
    notes = [make_note(empresa) for _ in range(5)]
    for note in notes:
        publish_note(note)
    publish_note(make_note(make_empresa(other.tenant)))

    page = actor.client.get("/api/v1/events", {"limit": 2}).json()
    assert [e["sequence"] for e in page["results"]] == [1, 2]
    assert page["has_more"] is True and page["next_after"] == 2
    assert "after=2" in page["next"]
    first = page["results"][0]
    assert first["type"] == "note.authorized" and comparable(first["data"]) == comparable(
        note_consulta(notes[0]))
    assert first["note_id"] == notes[0].pk

    rest = actor.client.get("/api/v1/events", {"after": 2}).json()
    assert [e["sequence"] for e in rest["results"]] == [3, 4, 5]
    assert rest["has_more"] is False and rest["next"] is None and rest["next_after"] == 5
    caught_up = actor.client.get("/api/v1/events", {"after": 5}).json()
    assert caught_up["results"] == [] and caught_up["next_after"] == 5

    theirs = other.client.get("/api/v1/events").json()["results"]
    assert [e["sequence"] for e in theirs] == [1]
    assert other.client.get(f"/api/v1/events/{first['event_id']}").status_code == 404
    assert actor.client.get(f"/api/v1/events/{first['event_id']}").json()["id"] == first["id"]


def test_the_feed_filters_by_type_and_refuses_bad_cursors(actor: Actor, empresa) -> None:
    note = make_note(empresa)
    publish_note(note)
    publish_note(note, "note.cancelled")
    only = actor.client.get("/api/v1/events", {"type": "note.cancelled"}).json()["results"]
    assert [e["sequence"] for e in only] == [2]
    bad = actor.client.get("/api/v1/events", {"after": "x"})
    assert bad.status_code == 400 and "after" in bad.json()["fields"]


def test_the_feed_costs_a_constant_number_of_queries(actor: Actor, empresa) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = actor.client.get("/api/v1/events", {"limit": 100})
        assert response.status_code == 200
        return len(ctx.captured_queries)

    count()
    for _ in range(2):
        publish_note(make_note(empresa))
    two = count()
    for _ in range(18):
        publish_note(make_note(empresa))
    assert count() == two
