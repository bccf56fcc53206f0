"""Routing of the Focus-compatible API (`/v2/...`) and the public file paths.

Order at the door, like Focus: rate limit (every answer carries `Rate-Limit-*`), then the token
(Basic user name or `?token=`; unknown → 403 `permissao_negada`), then the route.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from sandbox import emission, empresas, evento, events, hooks, importacao, inutilizacoes, lotes_rps
from sandbox.files import render_file
from sandbox.wire import FocusError, Request, Response, error_response, json_response

if TYPE_CHECKING:
    from sandbox.app import App

Handler = Callable[..., Response]


# -- /v2/hooks -----------------------------------------------------------------------------


def _owner(req: Request) -> str:
    """The token whose hooks these are; `_route` runs no handler without a principal."""
    assert req.principal is not None
    return req.principal.token


def hook_create(app: App, req: Request) -> Response:
    data = req.json_object()
    with app.store.lock:
        hook = hooks.create_hook(app.store, owner_token=_owner(req), data=data)
        return json_response(201, hook.public())


def hook_list(app: App, req: Request) -> Response:
    with app.store.lock:
        owned = [h.public() for h in app.store.hooks.values() if h.owner_token == _owner(req)]
        return json_response(200, owned)


def hook_get(app: App, req: Request, hook_id: str) -> Response:
    with app.store.lock:
        hook = hooks.get_hook(app.store, owner_token=_owner(req), hook_id=hook_id)
        metrics = hooks.metrics(hook, now=app.store.clock.now())
        return json_response(200, {**hook.public(), **metrics})


def hook_delete(app: App, req: Request, hook_id: str) -> Response:
    with app.store.lock:
        hook = hooks.get_hook(app.store, owner_token=_owner(req), hook_id=hook_id)
        del app.store.hooks[hook.id]
        return json_response(200, {**hook.public(), "deleted": True})


_DOC = r"(?P<doc_type>nfe|nfce|nfse|nfsen)"
_REF = r"(?P<ref>[^/]+)"

Route = tuple[str, re.Pattern[str], Handler]


def _compiled(*table: tuple[str, str, Handler]) -> list[Route]:
    """The route table with each path pattern anchored at both ends and compiled once."""
    return [(method, re.compile(f"^{path}$"), handler) for method, path, handler in table]


# Fixed sub-resources come before the `/<doc>/<ref>` patterns they would otherwise match.
ROUTES: list[Route] = _compiled(
    ("POST", r"/v2/(?P<doc_type>nfe|nfce)/inutilizacao", inutilizacoes.inutilizacao),
    ("GET", r"/v2/(?P<doc_type>nfe|nfce)/inutilizacoes", inutilizacoes.listing),
    ("POST", r"/v2/nfe/importacao", importacao.importacao),
    ("POST", r"/v2/nfe/danfe", importacao.danfe_preview),
    ("POST", rf"/v2/{_DOC}", emission.emit),
    ("GET", rf"/v2/{_DOC}/{_REF}", emission.consulta),
    ("DELETE", rf"/v2/{_DOC}/{_REF}", events.cancel),
    ("POST", rf"/v2/nfe/{_REF}/carta_correcao", events.carta_correcao),
    ("POST", rf"/v2/nfe/{_REF}/ator_interessado", events.ator_interessado),
    ("POST", rf"/v2/nfe/{_REF}/insucesso_entrega", events.insucesso_entrega),
    ("DELETE", rf"/v2/nfe/{_REF}/insucesso_entrega", events.cancelar_insucesso_entrega),
    ("POST", rf"/v2/nfe/{_REF}/evento", evento.register),
    ("POST", rf"/v2/{_DOC}/{_REF}/email", events.email),
    ("POST", rf"/v2/(?P<doc_type>nfe|nfse|nfsen)/{_REF}/hook", events.refire_hook),
    ("POST", r"/v2/lotes_rps", lotes_rps.lote_rps_create),
    ("GET", rf"/v2/lotes_rps/{_REF}", lotes_rps.lote_rps_get),
    ("POST", rf"/v2/lotes_rps/{_REF}/resposta", lotes_rps.lote_rps_resposta),
    ("POST", r"/v2/hooks", hook_create),
    ("GET", r"/v2/hooks", hook_list),
    ("GET", r"/v2/hooks/(?P<hook_id>[^/]+)", hook_get),
    ("DELETE", r"/v2/hooks/(?P<hook_id>[^/]+)", hook_delete),
    ("POST", r"/v2/empresas", empresas.create),
    ("GET", r"/v2/empresas", empresas.listing),
    ("GET", r"/v2/empresas/(?P<company_id>[^/]+)", empresas.detail),
    ("PUT", r"/v2/empresas/(?P<company_id>[^/]+)", empresas.update),
    ("PATCH", r"/v2/empresas/(?P<company_id>[^/]+)", empresas.update),
    ("DELETE", r"/v2/empresas/(?P<company_id>[^/]+)", empresas.delete),
)

FILE_PREFIXES = (
    "/arquivos/",
    "/arquivos_development/",
    "/notas_fiscais/",
    "/notas_fiscais_consumidor/",
    "/nfse/",
)


def is_file_path(path: str) -> bool:
    return path.startswith(FILE_PREFIXES)


def serve_file(app: App, req: Request) -> Response:
    """Files are public, like Focus's `/arquivos...`: the path itself is the secret. A file a
    test hosted at the path (sandbox/hosted_files.py) wins over a document's."""
    hosted = app.hosted_files.get(req.path)
    if hosted is not None:
        return Response(status=200, body=b"", content_type=hosted.content_type,
                        stream=hosted.chunks, stream_length=hosted.size)
    with app.store.lock:
        entry = app.store.files.get(req.path)
        rendered = render_file(app.store, entry) if entry else None
    if rendered is None:
        return error_response(FocusError(404, "nao_encontrado", "Arquivo não encontrado"))
    content_type, body = rendered
    return Response(status=200, body=body, content_type=content_type)


def dispatch(app: App, req: Request) -> Response:
    if is_file_path(req.path):
        return serve_file(app, req)
    config = app.store.config
    allowed, limit_headers = app.limiter.hit(
        req.token or "anonymous", limit=config.rate_limit, window=config.rate_limit_window
    )
    if not allowed:
        response = error_response(
            FocusError(
                429,
                "limite_requisicoes_excedido",
                "Limite de requisições por minuto excedido; aguarde Rate-Limit-Reset segundos",
            )
        )
    else:
        response = _route(app, req)
    response.headers.update(limit_headers)
    return response


def _route(app: App, req: Request) -> Response:
    if req.principal is None:
        return error_response(
            FocusError(403, "permissao_negada", "Acesso negado: token inválido ou não informado")
        )
    path_known = False
    for method, pattern, handler in ROUTES:
        match = pattern.match(req.path)
        if match is None:
            continue
        path_known = True
        if method != req.method:
            continue
        try:
            return handler(app, req, **match.groupdict())
        except FocusError as error:
            return error_response(error)
    if re.match(rf"^/v2/{_DOC}/?$", req.path):
        # Reference: "Status API": 404 nao_encontrado "Utilize o método POST".
        return error_response(FocusError(404, "nao_encontrado", "Utilize o método POST"))
    if path_known:
        return error_response(
            FocusError(404, "nao_encontrado", f"Método {req.method} não suportado neste recurso")
        )
    return error_response(FocusError(404, "nao_encontrado", "Recurso não encontrado"))
