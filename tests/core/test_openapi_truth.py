from __future__ import annotations

import os

import jsonschema
import pytest
from django.core.management import call_command
from django.test import Client

from tests.conftest import Actor

LIST_OPERATIONS = {
    "notes_list", "fiscal_events_list", "note_artifacts_list", "empresas_list",
    "api_keys_list", "webhook_endpoints_list", "webhook_deliveries_list",
    "webhook_delivery_attempts_list",
}


@pytest.fixture
def schema(db) -> dict:  # type: ignore[no-untyped-def]
    response = Client().get("/api/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def test_every_list_operation_documents_the_cursor_envelope(schema: dict) -> None:
    seen = set()
    for path, item in schema["paths"].items():
        get = item.get("get")
        if not get or not path.startswith("/api/v1"):
            continue
        body = get["responses"].get("200", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        node = _resolve(schema, body["schema"])
        if get["operationId"] in LIST_OPERATIONS:
            seen.add(get["operationId"])
            assert node.get("type") == "object", get["operationId"]
            assert {"next", "previous", "results"} <= set(node["properties"]), get["operationId"]
            assert node["properties"]["results"]["type"] == "array"
            params = {p["name"] for p in get.get("parameters", [])}
            assert {"cursor", "limit"} <= params, get["operationId"]
    assert seen >= LIST_OPERATIONS
    # No native GET with a 200 body is a bare array any more.
    for path, item in schema["paths"].items():
        body = item.get("get", {}).get("responses", {}).get("200", {}).get("content", {})
        json_body = body.get("application/json")
        if json_body and path.startswith("/api/v1"):
            assert _resolve(schema, json_body["schema"]).get("type") != "array", path


def test_schema_generates_without_a_warning_and_validates() -> None:
    # --fail-on-warn: an unresolved authenticator or an enum naming collision fails here.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", os.devnull)


def test_every_native_operation_documents_its_errors_in_the_real_shape(schema: dict) -> None:
    error_ref = "#/components/schemas/Error"
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            # Every native operation is behind an API key and the tenant budget.
            assert {"401", "403", "429"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(responses), (method, path)
            for status, response in responses.items():
                if int(status) >= 400:
                    body = response["content"]["application/json"]["schema"]
                    assert body == {"$ref": error_ref}, (method, path, status)
    assert schema["paths"]["/api/v1/empresas"]["post"]["responses"].keys() >= {"409"}
    assert schema["components"]["securitySchemes"].keys() == {
        "ApiKeyBearer", "ApiKeyBasic", "ApiKeyQuery"}


def test_the_error_component_matches_what_the_api_answers(
        schema: dict, settings, actor: Actor, make_empresa, empresa_payload) -> None:  # type: ignore[no-untyped-def]
    error_schema = schema["components"]["schemas"]["Error"]
    empresa = make_empresa(actor.tenant)
    duplicate = empresa_payload(cnpj=empresa.cnpj, token_producao=None)
    answers = {
        401: Client().get("/api/v1/notes"),
        404: actor.client.get("/api/v1/notes/999999"),
        400: actor.client.get("/api/v1/notes", {"limit": "abc"}),
        415: actor.client.post("/api/v1/empresas", "x", content_type="text/plain"),
        409: actor.client.post("/api/v1/empresas", duplicate, format="json"),
    }
    settings.FG_MAX_BODY_BYTES = 10
    answers[413] = actor.client.post("/api/v1/empresas", {"nome": "x" * 20}, format="json")
    settings.FG_TENANT_RATE_LIMIT = 1
    actor.client.get("/api/v1/empresas")
    answers[429] = actor.client.get("/api/v1/empresas")
    documented = schema["paths"]
    for status, answer in answers.items():
        assert answer.status_code == status, (status, answer.content)
        jsonschema.validate(answer.json(), error_schema)
    # Each of these is documented on the operation that answered it.
    assert "409" in documented["/api/v1/empresas"]["post"]["responses"]
    assert "413" in documented["/api/v1/empresas"]["post"]["responses"]
    assert "429" in documented["/api/v1/empresas"]["get"]["responses"]


def test_no_schema_refuses_the_null_it_allows(schema: dict) -> None:
    # oneOf [{}, null] refuses null (both branches match): drf-spectacular's 3.1 rendering of a
    # nullable JSONField, rewritten by core.schema.AutoSchema.
    def walk(node: object) -> None:
        if isinstance(node, dict):
            assert node.get("oneOf") != [{}, {"type": "null"}], node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
