"""Request/response values passed between the HTTP plumbing and the handlers, and Focus's error.

Handlers never touch sockets: they take a `Request` and return a `Response` (or raise
`FocusError`), which keeps them testable and lets the plumbing apply faults around them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


class FocusError(Exception):
    """An answer in Focus's error shape: `{"codigo", "mensagem", "erros"?}`."""

    def __init__(
        self,
        status: int,
        codigo: str,
        mensagem: str,
        erros: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{status} {codigo}: {mensagem}")
        self.status = status
        self.codigo = codigo
        self.mensagem = mensagem
        self.erros = erros

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"codigo": self.codigo, "mensagem": self.mensagem}
        if self.erros is not None:
            out["erros"] = self.erros
        return out


def missing(param: str, *, codigo: str = "requisicao_invalida") -> FocusError:
    return FocusError(400, codigo, f'Parâmetro "{param}" não informado')


def not_found(mensagem: str = "Nota fiscal não encontrada") -> FocusError:
    return FocusError(404, "nao_encontrado", mensagem)


@dataclass
class Principal:
    """Who the token belongs to: the reseller account, or one company in one environment."""

    token: str
    kind: str  # "account" | "company"
    company_id: str | None = None
    env: str | None = None


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base_url: str
    # The token as presented (Basic user name or ?token=), valid or not.
    token: str = ""
    params: dict[str, str] = field(default_factory=dict)
    principal: Principal | None = None
    _json: Any = None
    _parsed: bool = False

    def json(self, *, invalid: FocusError | None = None) -> Any:
        """The body as JSON; an empty body is `{}`. Focus answers 415 for JSON it cannot parse."""
        if not self._parsed:
            text = self.body.decode("utf-8", errors="replace").strip()
            if not text:
                self._json = {}
            else:
                try:
                    self._json = json.loads(text)
                except ValueError as exc:
                    raise invalid or FocusError(
                        415, "midia_invalida", f"JSON inválido: {exc}"
                    ) from exc
            self._parsed = True
        return self._json

    def json_object(self, *, invalid: FocusError | None = None) -> dict[str, Any]:
        data = self.json(invalid=invalid)
        if not isinstance(data, dict):
            raise invalid or FocusError(
                400, "requisicao_invalida", "O corpo da requisição deve ser um objeto JSON"
            )
        return data

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true", "sim")


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    # A body sent chunk by chunk instead of `body` (a hosted file of many megabytes is never
    # held whole); `stream_length` is its Content-Length.
    stream: Callable[[], Iterator[bytes]] | None = None
    stream_length: int = 0


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(status=status, body=body, headers=dict(headers or {}))


def error_response(error: FocusError) -> Response:
    return json_response(error.status, error.body())
