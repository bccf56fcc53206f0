from __future__ import annotations

import pytest
from django.test import Client

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
