"""Request bodies sent with ``Transfer-Encoding: chunked``, for Django.

Django's WSGIRequest reads exactly CONTENT_LENGTH bytes of ``wsgi.input`` and takes a missing
one as 0, so a chunked body (which has no Content-Length) reached the views as empty. Gunicorn
decodes the chunks itself and says so with ``wsgi.input_terminated`` (its input then ends at
the end of the body), so the body can be read here, bounded by FG_MAX_BODY_BYTES, and handed
on with its real length. A server that does not promise a terminated input gives no safe way
to find the end of the body: such a request is answered 411 rather than read as empty.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings

from core.errors import focus_error_body, native_error_body

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_CHUNK = 64 * 1024


def _error(environ: dict[str, Any], start_response: StartResponse, status: str, *, code: str,
           message: str, mensagem: str) -> list[bytes]:
    path = environ.get("PATH_INFO", "")
    if path.startswith(("/v2/", "/focus/")):
        body = focus_error_body("requisicao_invalida", mensagem)
    else:
        body = native_error_body(code, message)
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(payload)))])
    return [payload]


class ChunkedBodyMiddleware:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not chunked or environ.get("CONTENT_LENGTH"):
            return self.app(environ, start_response)
        if not environ.get("wsgi.input_terminated"):
            return _error(environ, start_response, "411 Length Required",
                          code="length_required",
                          message="A chunked body is not accepted here; send Content-Length.",
                          mensagem="Corpo em chunked não aceito; envie Content-Length.")
        limit = settings.FG_MAX_BODY_BYTES
        stream, buffer, size = environ["wsgi.input"], io.BytesIO(), 0
        while size <= limit:
            # Never more than one byte past the limit: enough to know it was exceeded.
            piece = stream.read(min(_CHUNK, limit + 1 - size))
            if not piece:
                break
            buffer.write(piece)
            size += len(piece)
        if size > limit:
            return _error(environ, start_response, "413 Request Entity Too Large",
                          code="payload_too_large",
                          message=f"The body is larger than {limit} bytes.",
                          mensagem=f"O corpo da requisição excede {limit} bytes.")
        buffer.seek(0)
        environ["wsgi.input"] = buffer
        environ["CONTENT_LENGTH"] = str(size)
        return self.app(environ, start_response)
