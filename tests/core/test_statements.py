"""core.statements: the hot paths' plain statements give what the ORM gives, or leave it the
work when they cannot."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from core import statements
from core.claims import claim
from fiscal.models import NextAction, Note, NoteEvent, NoteStatus
from fiscal.services import _insert_with_event, note_persist
from tenants.models import Empresa
from tenants.services import api_key_authenticate, tenant_create
from tests.conftest import Actor
from tests.sandbox.helpers import nfe_payload

NOTE_WITH_PARENTS = statements.PreparedSelect(
    lambda ref, empresa_id: Note.objects.select_related("empresa", "tenant")
    .defer("empresa__token_homologacao", "payload")
    .filter(ref=ref, empresa_id=empresa_id, status=NoteStatus.PROCESSANDO),
    ref="\x00ref", empresa_id=-1_000_001,
)


def _note(empresa: Empresa, ref: str) -> Note:
    return Note.objects.create(
        tenant=empresa.tenant, empresa=empresa, environment="homologacao", doc_type="nfe",
        ref=ref, upstream_ref=f"fg-{ref}", payload=nfe_payload(empresa.documento),
        upstream={"status": "processando_autorizacao"},
    )


def test_a_prepared_select_gives_the_orms_instances_with_new_values_each_call(
    actor: Actor, make_empresa: Callable[..., Empresa]
) -> None:
    empresa = make_empresa(actor.tenant)
    first, second = _note(empresa, "prep-1"), _note(empresa, "prep-2")
    for note in (first, second):  # the second call runs the first call's SQL, new values
        loaded = NOTE_WITH_PARENTS.one(ref=note.ref, empresa_id=empresa.pk)
        expected = (Note.objects.select_related("empresa", "tenant")
                    .defer("empresa__token_homologacao", "payload").get(pk=note.pk))
        assert loaded.pk == note.pk and loaded.upstream == {"status": "processando_autorizacao"}
        assert loaded.created_at == expected.created_at  # converters applied (aware datetime)
        assert loaded.get_deferred_fields() == expected.get_deferred_fields() == {"payload"}
        with CaptureQueriesContext(connection) as queries:
            # The parents came in the same query, with their own deferred fields.
            assert loaded.empresa.cnpj == empresa.cnpj and loaded.tenant.name == actor.tenant.name
            assert loaded.empresa.get_deferred_fields() == {"token_homologacao"}
        assert len(queries) == 0
    assert NOTE_WITH_PARENTS.one(ref="nao-existe", empresa_id=empresa.pk) is None
    # A constant of the query (the status) stays in its place.
    Note.objects.filter(pk=first.pk).update(status=NoteStatus.AUTORIZADO)
    assert NOTE_WITH_PARENTS.one(ref=first.ref, empresa_id=empresa.pk) is None
    assert [n.pk for n in statements.PreparedSelect(
        lambda empresa_id: Note.objects.filter(empresa_id=empresa_id).order_by("ref"),
        empresa_id=-1_000_002,
    ).all(empresa_id=empresa.pk)] == [first.pk, second.pk]


def test_a_prepared_select_refuses_samples_it_cannot_place_and_locks_only_in_a_transaction(
    transactional_db: None, make_empresa: Callable[..., Empresa]
) -> None:
    ambiguous = statements.PreparedSelect(
        # The sample equals the query's own constant: its place cannot be told.
        lambda priority: Note.objects.filter(priority=priority, sync_attempts=0),
        priority=0,
    )
    with pytest.raises(ValueError, match="sample"):
        ambiguous.one(priority=1)
    if not connection.features.has_select_for_update:
        return  # SQLite: no row locks, nothing to refuse (as the ORM)
    locked = statements.PreparedSelect(
        lambda pk: Note.objects.select_for_update().filter(pk=pk), pk=-1_000_003)
    note = _note(make_empresa(tenant_create(name="Locks")), "lock-1")
    with transaction.atomic():
        assert locked.one(pk=note.pk).pk == note.pk
    with pytest.raises(TransactionManagementError):
        locked.one(pk=note.pk)


def test_a_claim_in_plain_sql_is_the_orms_claim(
    actor: Actor, make_empresa: Callable[..., Empresa]
) -> None:
    note = _note(make_empresa(actor.tenant), "claim-1")
    assert statements.plain_update(Note, note.pk, {"claim_token": "a"}) is not None
    # A lookup or an expression is the ORM's work.
    assert statements.plain_update(Note, note.pk, {"claim_token": "a"},
                                   {"next_action_at__lte": None}) is None
    # None compares as IS NULL, as filter() does.
    assert claim(Note, note.pk, where={"next_action_at": None, "claim_token": ""},
                 claim_token="mine", next_action=NextAction.SYNC)
    assert not claim(Note, note.pk, where={"claim_token": ""}, claim_token="theirs")
    assert claim(Note, note.pk, where={"claim_token": "mine"}, claim_token="",
                 upstream={"status": "autorizado"}, erros=None)
    note.refresh_from_db()
    assert (note.claim_token, note.next_action) == ("", NextAction.SYNC)
    assert note.upstream == {"status": "autorizado"} and note.erros is None


def test_the_accept_writes_the_note_and_its_first_row_in_one_statement_or_neither(
    actor: Actor, make_empresa: Callable[..., Empresa]
) -> None:
    empresa = make_empresa(actor.tenant)
    api_key = api_key_authenticate(raw=actor.key.raw)
    if connection.vendor != "postgresql":
        pytest.skip("one statement on Postgres; two in a transaction on SQLite")
    with CaptureQueriesContext(connection) as queries:
        accepted = note_persist(api_key=api_key, empresa=empresa, doc_type="nfe", ref="one-1",
                                payload=nfe_payload(empresa.documento))
    # One statement (and the savepoint a caller's transaction, here the test's, asks for).
    assert [q["sql"].split()[0] for q in queries.captured_queries] == [
        "SAVEPOINT", "WITH", "RELEASE"]
    note = Note.objects.get(pk=accepted.note.pk)
    assert note.claim_token == accepted.claim_token and note.payload["cnpj_emitente"]
    assert [(e.kind, e.data) for e in note.events.all()] == [
        (NoteEvent.Kind.CREATED, {"api_key": api_key.display_prefix})]
    assert accepted.note.created_at == note.created_at
    # A taken ref inside a caller's transaction: neither row, and the transaction lives on.
    again = Note(tenant=note.tenant, empresa=empresa, environment=note.environment,
                 doc_type="nfe", ref="one-1", upstream_ref="fg-other", payload={})
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            _insert_with_event(again, NoteEvent(note=again, kind=NoteEvent.Kind.CREATED))
        assert Note.objects.filter(ref="one-1").count() == 1
    assert NoteEvent.objects.filter(note__ref="one-1").count() == 1
