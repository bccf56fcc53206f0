"""schemathesis against the native API, in-process through the WSGI app, on real Postgres.

A bounded budget (a few examples per operation, derandomized so a run is repeatable) with a
valid key and some rows to find: every answer must be documented (status code and body) and
none may be a server error.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as budget
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from fiscal.models import NextAction, Note, NoteStatus
from tenants.services import api_key_create
from tests.conftest import Actor
from webhooks.endpoints import endpoint_create
from webhooks.events import event_record
from webhooks.models import Delivery

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


api_schema_ids: dict[str, int] = {}


@pytest.fixture
def api_schema(db, settings, actor: Actor, make_empresa) -> Iterator[schemathesis.BaseSchema]:  # type: ignore[no-untyped-def]
    settings.FG_WEBHOOKS_ALLOW_LOOPBACK = True
    settings.FG_WEBHOOKS_REQUIRE_HTTPS = False
    empresa = make_empresa(actor.tenant)
    note = Note.objects.create(
        tenant=actor.tenant, empresa=empresa, environment="homologacao", doc_type="nfe",
        ref="st-1", upstream_ref=f"up-{actor.tenant.pk}-st-1", payload={},
        status=NoteStatus.AUTORIZADO, next_action=NextAction.NONE,
    )
    endpoint = endpoint_create(
        tenant=actor.tenant, environment="homologacao", url="http://127.0.0.1:9/hook").endpoint
    event = event_record(
        tenant=actor.tenant, type="note.authorized",
        data={"ref": note.ref, "status": "autorizado"}, environment="homologacao",
        doc_type="nfe", note=note, empresa=empresa)
    spare = api_key_create(tenant=actor.tenant, environment="homologacao", name="spare")
    # Rows the generated cases may name (every other valid case), so that detail and action
    # operations answer with their real bodies too, not only 404. Keyed by the path's resource.
    api_schema_ids.update({
        "empresas": empresa.pk, "notes": note.pk, "webhook-endpoints": endpoint.pk,
        "events": event.pk, "webhook-deliveries": Delivery.objects.get(event=event).pk,
        "api-keys": spare.api_key.pk,  # never the actor's own key: revoking it ends the run
    })
    # The WSGI handler closes the connection at the end of each request; as Django's own test
    # client does, keep it open so every request runs inside the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema", application,
                                             headers={"Accept": "application/json"})
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


EXAMPLES_PER_OPERATION = 6
_turn = itertools.count()


def _maybe_name_a_row(case, mode: GenerationMode) -> None:  # type: ignore[no-untyped-def]
    resource = case.operation.path.split("/")[3]
    if (mode is GenerationMode.POSITIVE and "id" in (case.path_parameters or {})
            and resource in api_schema_ids and next(_turn) % 2 == 0):
        case.path_parameters["id"] = api_schema_ids[resource]


def _run(operation, mode: GenerationMode, auth: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    @budget(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None,
            database=None, phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:  # type: ignore[no-untyped-def]
        _maybe_name_a_row(case, mode)
        case.call_and_validate(headers=auth, checks=CHECKS)

    run()


def test_native_api_answers_as_documented(api_schema, actor: Actor) -> None:  # type: ignore[no-untyped-def]
    """Each operation gets two derandomized hypothesis runs, valid and invalid input; all
    failures are collected so that one bad operation does not hide the others."""
    auth = {"Authorization": f"Bearer {actor.key.raw}"}
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30  # the whole native API, not an empty schema

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _run(operation, mode, auth)
            # schemathesis raises a FailureGroup (a BaseExceptionGroup) for check failures.
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all reported below
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
