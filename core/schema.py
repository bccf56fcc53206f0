"""The project's OpenAPI AutoSchema: the schema describes what the views really answer.

- List views page through ``core.pagination.paginated()``: their envelope is documented.
- Every operation documents the errors it can answer, all in the native error shape
  (``core.errors.native_error_body``), derived from what the view is made of: its
  authenticators, permissions, throttles, path and query parameters and request body,
  plus the statuses a view declares in ``error_statuses`` for what only its services know
  (a 409 conflict, a 503 file not yet available).
- ``tenants.auth.ApiKeyAuthentication`` is described as its three accepted ways of sending a
  key, any one of which is enough.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent

from core.pagination import IdCursorPagination

# The body of every native error (core.errors.native_error_body).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "Machine-readable error code."},
        "message": {"type": "string"},
        "fields": {
            "type": "object",
            "description": "Per-field messages; nested fields are joined with dots.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["code", "message", "fields"],
}

ERROR_DESCRIPTIONS = {
    400: "Invalid parameters, query string or body (`validation_error`, `invalid_query`, "
         "`malformed_request`, ...).",
    401: "No API key, or an unknown or revoked one.",
    403: "The key may not do this (e.g. in this environment).",
    404: "No such object for this tenant, or an invalid cursor.",
    409: "The request conflicts with the current state.",
    413: "The body is larger than FG_MAX_BODY_BYTES.",
    415: "The body is not JSON.",
    429: "Over the tenant's request budget; see Retry-After.",
    503: "Temporarily unavailable; try again shortly.",
}

_BODY_METHODS = {"POST", "PUT", "PATCH"}


class AutoSchema(SpectacularAutoSchema):
    def _get_paginator(self):  # type: ignore[no-untyped-def]
        # List views are plain APIViews paging through core.pagination.paginated(), so they have
        # no pagination_class for drf-spectacular to find; every list operation is
        # cursor-paginated, so a GET documented with a list response gets the real envelope
        # {next, previous, results} and the cursor/limit parameters.
        if self.method == "GET":
            return IdCursorPagination()
        return super()._get_paginator()

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema = super()._map_basic_serializer(serializer, direction)
        # Under OpenAPI 3.1 drf-spectacular writes a nullable any-value field
        # (JSONField(allow_null=True)) as {"oneOf": [{}, {"type": "null"}]}, which refuses
        # null: it matches both branches. Any value already includes null.
        for name, prop in schema.get("properties", {}).items():
            if prop.get("oneOf") == [{}, {"type": "null"}]:
                schema["properties"][name] = {k: v for k, v in prop.items() if k != "oneOf"}
        return schema

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for status in sorted(self.error_statuses(operation)):
            responses.setdefault(str(status), {
                "description": ERROR_DESCRIPTIONS.get(status, "Error."),
                "content": {"application/json": {"schema": self._error_component().ref}},
            })
        return operation

    def error_statuses(self, operation: dict[str, Any]) -> set[int]:
        """The error statuses this operation can answer, read off the view."""
        statuses: set[int] = set()
        parameters = operation.get("parameters", [])
        query = {p["name"] for p in parameters if p.get("in") == "query"}
        body_parsed = self.method in _BODY_METHODS and "requestBody" in operation
        if self.view.get_authenticators() and self.view.get_permissions():
            statuses |= {401, 403}
        if self.view.get_throttles():
            statuses.add(429)
        if body_parsed:
            statuses |= {413, 415}
        # Any query string may be refused (a NUL in it: core.middleware), with or without
        # documented parameters, so every operation can answer 400.
        statuses.add(400)
        if any(p.get("in") == "path" for p in parameters) or "cursor" in query:
            statuses.add(404)  # no such object / DRF's "Invalid cursor"
        declared = getattr(self.view, "error_statuses", {})
        statuses.update(declared.get(self.method.lower(), ()))
        return statuses

    def _error_component(self) -> ResolvedComponent:
        component = ResolvedComponent(name="Error", type=ResolvedComponent.SCHEMA,
                                      object="Error", schema=ERROR_SCHEMA)
        self.registry.register_on_missing(component)
        return component


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """The key as a bearer token, as a Basic user name (Focus's way) or as ``?token=``."""

    target_class = "tenants.auth.ApiKeyAuthentication"
    name = ["ApiKeyBearer", "ApiKeyBasic", "ApiKeyQuery"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[str]]]:
        # Alternatives (any one is enough), not a group sent together.
        return [{name: []} for name in self.name]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {"type": "http", "scheme": "bearer",
             "description": "`Authorization: Bearer <api key>`."},
            {"type": "http", "scheme": "basic",
             "description": "The API key as the user name and an empty password, as Focus "
                            "clients send it."},
            {"type": "apiKey", "in": "query", "name": "token",
             "description": "`?token=<api key>`; accepted for Focus compatibility."},
        ]
