"""Hosted files: exact or generated bodies at a file path, gone on demand, every download logged."""

from __future__ import annotations

import hashlib

import httpx

from sandbox.server import MAX_BODY
from tests.sandbox.helpers import nfe_payload

XML_PATH = "/arquivos_development/07504505000132/202603/XMLs/3526-nfe.xml"
PDF_PATH = "/arquivos_development/07504505000132/202603/DANFEs/3526.pdf"


def test_an_exact_body_is_served_as_put_without_auth(
    control: httpx.Client, focus
) -> None:
    body = b"<nfeProc>\x00 exact \xff bytes</nfeProc>"
    put = control.put(f"/files{XML_PATH}", content=body,
                      headers={"Content-Type": "application/xml"})
    assert put.status_code == 201
    assert put.json() == {"path": XML_PATH, "content_type": "application/xml",
                          "size": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                          "generated": False}
    served = focus(None).get(XML_PATH)  # public, like Focus's /arquivos
    assert served.status_code == 200
    assert served.content == body and served.headers["content-type"] == "application/xml"


def test_a_generated_body_larger_than_any_request_is_streamed(
    control: httpx.Client, focus
) -> None:
    size = MAX_BODY + 17  # more than a control request may carry
    put = control.put(f"/files{PDF_PATH}", params={"generated_bytes": size},
                      headers={"Content-Type": "application/pdf"})
    assert put.status_code == 201 and put.json()["generated"] is True
    digest, received = hashlib.sha256(), 0
    with focus(None).stream("GET", PDF_PATH) as served:
        assert served.status_code == 200
        assert served.headers["content-length"] == str(size)
        for chunk in served.iter_bytes():
            digest.update(chunk)
            received += len(chunk)
    assert received == size and digest.hexdigest() == put.json()["sha256"]


def test_a_hosted_file_wins_over_the_documents_own_and_removing_it_restores_that(
    control: httpx.Client, acme: httpx.Client
) -> None:
    acme.post("/v2/nfe", params={"ref": "h"}, json=nfe_payload())
    path = acme.get("/v2/nfe/h").json()["caminho_danfe"]
    own = acme.get(path).content
    assert own.startswith(b"%PDF-")
    control.put(f"/files{path}", content=b"%PDF-1.4 replaced")
    assert acme.get(path).content == b"%PDF-1.4 replaced"
    assert control.delete(f"/files{path}").status_code == 200
    assert acme.get(path).content == own


def test_a_removed_file_is_not_found(control: httpx.Client, focus) -> None:
    control.put(f"/files{XML_PATH}", content=b"<a/>")
    assert control.delete(f"/files{XML_PATH}").json() == {"path": XML_PATH, "deleted": True}
    gone = focus(None).get(XML_PATH)
    assert gone.status_code == 404 and gone.json()["codigo"] == "nao_encontrado"
    assert control.delete(f"/files{XML_PATH}").status_code == 404


def test_only_file_paths_and_sane_sizes_are_accepted(control: httpx.Client) -> None:
    assert control.put("/files/v2/nfe/x", content=b"x").status_code == 400
    for size in ("-1", "many"):
        bad = control.put(f"/files{PDF_PATH}", params={"generated_bytes": size})
        assert bad.status_code == 400 and bad.json()["codigo"] == "requisicao_invalida"
    # Exact bytes or generated ones, not both.
    both = control.put(f"/files{PDF_PATH}", params={"generated_bytes": 10}, content=b"x")
    assert both.status_code == 400


def test_every_file_request_is_logged_per_path_faulted_ones_too(
    control: httpx.Client, focus
) -> None:
    control.put(f"/files{XML_PATH}", content=b"<a/>")
    control.post("/faults", json={"mode": "5xx", "count": 1, "path_prefix": XML_PATH})
    assert focus("acme-hom").get(XML_PATH).status_code == 500
    assert focus("acme-hom").get(XML_PATH).status_code == 200
    assert focus(None).get(PDF_PATH, params={"token": "acme-hom"}).status_code == 404
    focus("acme-hom").get("/v2/nfe/none")  # not a file: not in the log

    fingerprint = hashlib.sha256(b"acme-hom").hexdigest()
    log = control.get("/file-requests").json()
    assert log["count"] == 3
    assert log["requests"] == [
        {"method": "GET", "path": XML_PATH, "auth_scheme": "Basic", "token_sha256": fingerprint},
        {"method": "GET", "path": XML_PATH, "auth_scheme": "Basic", "token_sha256": fingerprint},
        {"method": "GET", "path": PDF_PATH, "auth_scheme": "query", "token_sha256": fingerprint},
    ]
    assert "acme-hom" not in control.get("/file-requests").text  # a fingerprint, not the token
    assert control.get("/file-requests", params={"path": PDF_PATH}).json()["count"] == 1


def test_reset_forgets_hosted_files_and_the_log(control: httpx.Client, focus) -> None:
    control.put(f"/files{XML_PATH}", content=b"<a/>")
    focus(None).get(XML_PATH)
    control.post("/reset")
    assert control.get("/file-requests").json() == {"requests": [], "count": 0}
    assert focus(None).get(XML_PATH).status_code == 404
