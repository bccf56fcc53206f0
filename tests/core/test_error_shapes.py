"""Every error under /v2 is JSON in Focus's shape and under /api in the native shape, in DEBUG
too: unknown routes, wrong methods, uncaught exceptions. Never Django's HTML page."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from tenants import selectors as tenant_selectors
from tests.conftest import Actor

FOCUS_404 = ["/v2/nada", "/v2/nfe/ação-1", "/v2/nfe/a%00b", "/v2/nfe/ref/desconhecida",
             "/v2/empresas/1/x", "/focus/hooks/abc"]
NATIVE_404 = ["/api/v1/nada", "/api/v1/notes/abc", "/api/v2/notes", "/api/v1/empresas/1/x"]


def assert_focus(response, status: int, codigo: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = json.loads(response.content)
    assert body["codigo"] == codigo and body["mensagem"], body
    assert b"<html" not in response.content.lower()


def assert_native(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = json.loads(response.content)
    assert set(body) == {"code", "message", "fields"} and body["code"] == code, body


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings) -> bool:  # type: ignore[no-untyped-def]
    settings.DEBUG = request.param
    return request.param


@pytest.mark.parametrize("path", FOCUS_404)
def test_unknown_facade_routes_are_focus_404(actor: Actor, debug: bool, path: str) -> None:
    assert_focus(actor.client.get(path), 404, "nao_encontrado")
    assert_focus(Client().post(path), 404, "nao_encontrado")  # no key either


@pytest.mark.parametrize("path", NATIVE_404)
def test_unknown_native_routes_are_native_404(actor: Actor, debug: bool, path: str) -> None:
    assert_native(actor.client.get(path), 404, "not_found")
    assert_native(Client().delete(path), 404, "not_found")


@pytest.mark.parametrize("method,path", [("put", "/v2/nfe"), ("patch", "/v2/empresas"),
                                         ("put", "/v2/nfe/ref-1")])
def test_wrong_methods_on_the_facade_are_focus_404(actor: Actor, debug: bool, method: str,
                                                   path: str) -> None:
    # Focus: 404 nao_encontrado "Utilize o método POST" (NFe "Status API").
    assert_focus(getattr(actor.client, method)(path), 404, "nao_encontrado")


def test_wrong_method_on_the_hook_receiver_is_focus_405(debug: bool, db: None) -> None:
    response = Client().get("/focus/hooks/1")
    assert_focus(response, 405, "metodo_nao_permitido")
    assert response["Allow"] == "POST"


def test_wrong_method_on_the_native_api_is_native_405(actor: Actor, debug: bool) -> None:
    assert_native(actor.client.put("/api/v1/notes"), 405, "method_not_allowed")


def _explode(**kwargs: object) -> None:
    raise RuntimeError("connection to 10.0.0.7 refused: secret internals")


def test_an_uncaught_exception_under_v2_is_a_logged_focus_500(
    actor: Actor, debug: bool, monkeypatch, caplog,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr(tenant_selectors, "empresa_list", _explode)
    with caplog.at_level(logging.ERROR, logger="core.errors"):
        response = actor.client.get("/v2/empresas")
    assert_focus(response, 500, "erro_interno")
    assert b"10.0.0.7" not in response.content and b"RuntimeError" not in response.content
    logged = [r for r in caplog.records if r.name == "core.errors"]
    assert logged and logged[0].exc_info and "secret internals" in str(logged[0].exc_info[1])


def test_an_uncaught_exception_under_api_v1_is_a_native_500(
    actor: Actor, debug: bool, monkeypatch, caplog,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr(tenant_selectors, "empresa_list", _explode)
    with caplog.at_level(logging.ERROR, logger="core.errors"):
        response = actor.client.get("/api/v1/empresas")
    assert_native(response, 500, "server_error")
    assert b"10.0.0.7" not in response.content
    assert any(r.name == "core.errors" for r in caplog.records)


def test_handlers_answer_in_the_prefix_shape_when_django_calls_them(rf) -> None:  # type: ignore[no-untyped-def]
    # With DEBUG off Django calls handler404/handler500 itself (e.g. an error in a middleware).
    from core.middleware import handler404, handler500

    assert_focus(handler404(rf.get("/v2/x")), 404, "nao_encontrado")
    assert_native(handler404(rf.get("/api/v1/x")), 404, "not_found")
    assert_focus(handler500(rf.get("/v2/x")), 500, "erro_interno")
    assert_native(handler500(rf.get("/api/v1/x")), 500, "server_error")


def test_outside_the_apis_django_pages_are_kept(db: None, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = False
    response = Client().get("/nada-aqui")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")
