"""A chunked request body (Transfer-Encoding: chunked, no Content-Length) is read, bounded by
FG_MAX_BODY_BYTES, under gunicorn as production runs it (deploy/gunicorn.conf.py). Over real
HTTP: Django's test client cannot send a chunked body at all."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import httpx
import pytest
from django.conf import settings
from django.db import connection

from tenants.models import Empresa, Environment
from tenants.services import api_key_create, tenant_create
from tests.conftest import basic
from tests.e2e.conftest import BIN, ROOT, Proc, _port_open, free_port, wait_until

pytestmark = pytest.mark.slow

LIMIT = 4096


@pytest.fixture(scope="module")
def web(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("chunked")
    db = connection.settings_dict
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FG_", "FOCUS_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
                        f"{db['PORT'] or 5432}/{db['NAME']}",
        "FG_VAR_DIR": str(tmp / "var"),
        "FG_ENCRYPTION_KEYS": ",".join(settings.FG_ENCRYPTION_KEYS),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "FG_FOCUS_HOOKS_ENABLED": "false",
        "FG_MAX_BODY_BYTES": str(LIMIT),
        "FG_BIND": f"127.0.0.1:{port}",
        "FG_WEB_WORKERS": "1",
        "FG_WEB_THREADS": "2",
    }
    proc = Proc([str(BIN / "gunicorn"), "config.wsgi", "-c", str(ROOT / "deploy/gunicorn.conf.py")],
                env, tmp / "web.log").start()
    try:
        wait_until(lambda: _port_open(port), 30, "gunicorn")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()


def chunks(data: bytes, size: int = 100) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def post_chunked(web: str, key: str, path: str, data: bytes) -> httpx.Response:
    with httpx.Client(base_url=web, timeout=20) as client:
        return client.post(path, content=chunks(data), headers={
            "Authorization": basic(key), "Content-Type": "application/json"})


@pytest.fixture
def key(transactional_db: None) -> str:
    tenant = tenant_create(name="Chunked SaaS")
    return api_key_create(tenant=tenant, environment=Environment.HOMOLOGACAO).raw


def test_a_chunked_body_is_read(web: str, key: str) -> None:
    body = json.dumps({"cnpj": "12ABC34501DE35", "nome": "Loja Chunked Ltda", "uf": "SP"})
    sent = []

    def recording() -> Iterator[bytes]:
        for piece in chunks(body.encode(), 10):
            sent.append(piece)
            yield piece

    with httpx.Client(base_url=web, timeout=20) as client:
        request = client.build_request("POST", "/api/v1/empresas", content=recording(), headers={
            "Authorization": basic(key), "Content-Type": "application/json"})
        assert request.headers["Transfer-Encoding"] == "chunked"
        assert "Content-Length" not in request.headers
        response = client.send(request)
    assert response.status_code == 201, response.text
    assert len(sent) > 1  # really sent in several chunks
    assert Empresa.objects.get().nome == "Loja Chunked Ltda"


def test_a_chunked_body_on_the_facade_is_read_too(web: str, key: str) -> None:
    body = json.dumps({"cnpj": "12ABC34501DE35", "nome": "Loja Facade Ltda", "uf": "SP"})
    response = post_chunked(web, key, "/v2/empresas", body.encode())
    assert response.status_code == 200, response.text  # Focus's document: a creation is 200
    assert Empresa.objects.get().nome == "Loja Facade Ltda"


@pytest.mark.parametrize("path,shape", [("/api/v1/empresas", "code"), ("/v2/empresas", "codigo")])
def test_a_chunked_body_past_the_limit_is_413_and_nothing_is_written(
    web: str, key: str, path: str, shape: str,
) -> None:
    body = json.dumps({"cnpj": "12ABC34501DE35", "nome": "x" * (LIMIT * 3), "uf": "SP"})
    response = post_chunked(web, key, path, body.encode())
    assert response.status_code == 413, response.text
    assert shape in response.json()
    assert Empresa.objects.count() == 0


def test_a_chunked_body_at_the_limit_is_accepted(web: str, key: str) -> None:
    base = {"cnpj": "12ABC34501DE35", "nome": "Loja", "uf": "SP", "complemento": ""}
    pad = LIMIT - len(json.dumps(base).encode())
    body = json.dumps({**base, "complemento": " " * 0}).encode()[:-1] + b" " * pad + b"}"
    assert len(body) == LIMIT
    response = post_chunked(web, key, "/api/v1/empresas", body)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("path,shape", [("/api/v1/empresas", "code"), ("/v2/empresas", "codigo")])
def test_a_server_that_cannot_end_a_chunked_body_answers_411(path: str, shape: str) -> None:
    # wsgiref (Django's runserver) passes the raw chunked stream and no wsgi.input_terminated:
    # reading it could block forever or read the chunk framing, so it is refused, never empty.
    import io

    from core.wsgi_body import ChunkedBodyMiddleware

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        raise AssertionError("the application must not see this request")

    seen: list[str] = []
    environ = {"PATH_INFO": path, "HTTP_TRANSFER_ENCODING": "chunked", "REQUEST_METHOD": "POST",
               "wsgi.input": io.BytesIO(b"5\r\nhello\r\n0\r\n\r\n")}
    answer = ChunkedBodyMiddleware(app)(environ, lambda status, headers: seen.append(status))
    body = b"".join(answer)
    assert seen == ["411 Length Required"] and shape in json.loads(body)
