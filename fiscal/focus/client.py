"""The only code that speaks HTTP to Focus NFe (DESIGN.md §3).

Reference: focus-nfe-api-v2.txt ("Autenticação", "Códigos HTTP", "Erros") and SUPPLEMENT.md
("Rate limit"). Nothing above this module sees an httpx exception: every failure becomes one of
the errors below, each saying whether the request may have reached Focus (``sent``). After a
failure that may have been sent, the caller's next step is a read, never a second POST.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

from fiscal.focus import signals
from tenants.models import Environment

logger = logging.getLogger("fiscal.focus")


class FocusUpstreamError(Exception):
    """Base of every Focus failure. ``sent``: the request may have reached Focus."""

    sent = True

    def __init__(self, message: str, *, sent: bool | None = None) -> None:
        super().__init__(message)
        if sent is not None:
            self.sent = sent


class FocusTimeout(FocusUpstreamError):
    """No answer in time. Focus may have the request (ambiguous)."""


class FocusUnavailable(FocusUpstreamError):
    """Connection refused or reset, or a 5xx. ``sent`` False only when nothing left our side."""

    def __init__(self, message: str, *, sent: bool, status_code: int | None = None) -> None:
        super().__init__(message, sent=sent)
        self.status_code = status_code


class FocusMalformed(FocusUpstreamError):
    """Focus answered 2xx with a body that is not JSON: it got the request, we lost the answer."""


class FocusRateLimited(FocusUpstreamError):
    """429: Focus did not process the request. Wait ``retry_after`` seconds."""

    sent = False

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after:.0f}s", sent=False)
        self.retry_after = retry_after


class FocusRejected(FocusUpstreamError):
    """A 4xx with Focus's error body: Focus processed the request and refused it."""

    def __init__(self, status_code: int, body: Any) -> None:
        body = body if isinstance(body, dict) else {"mensagem": str(body)[:500]}
        self.status_code = status_code
        self.body = body
        self.codigo = str(body.get("codigo", "erro_desconhecido"))
        self.mensagem = str(body.get("mensagem", ""))
        self.erros = body.get("erros")
        super().__init__(f"{status_code} {self.codigo}: {self.mensagem}", sent=True)


class FocusNotFound(FocusRejected):
    """404: Focus has no such document (for a read, proof that a POST never landed)."""


@dataclass
class FocusResponse:
    status_code: int
    body: Any
    duration_ms: float
    rate_limit: RateLimitInfo | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RawAnswer:
    status_code: int
    content_type: str
    content: bytes
    rate_limit: RateLimitInfo | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RateLimitInfo:
    limit: int
    remaining: int
    reset: float  # seconds until the window resets


def token_fingerprint(token: str) -> str:
    """A stable, non-reversible name for a Focus token: for logs and budget keys."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def base_url(environment: str) -> str:
    if environment == Environment.PRODUCAO:
        return settings.FOCUS_URL_PRODUCAO
    return settings.FOCUS_URL_HOMOLOGACAO


_clients: dict[str, httpx.Client] = {}
_clients_lock = threading.Lock()


def _http(url: str) -> httpx.Client:
    """One pooled client per host, shared by the threads of a process (keep-alive)."""
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = httpx.Client(
                base_url=url,
                # Focus never redirects an API call; following one could leak the token.
                follow_redirects=False,
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
                headers={"User-Agent": "fiscal-gateway/1.0"},
            )
            _clients[url] = client
        return client


def reset_clients() -> None:
    """Forget pooled connections (tests point settings at a new sandbox; forked workers)."""
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def _parse_rate_limit(headers: httpx.Headers) -> RateLimitInfo | None:
    try:
        return RateLimitInfo(
            limit=int(headers["Rate-Limit-Limit"]),
            remaining=int(headers["Rate-Limit-Remaining"]),
            reset=float(headers["Rate-Limit-Reset"]),
        )
    except (KeyError, ValueError):
        return None


class FocusClient:
    """Calls to one Focus environment with one company's token."""

    def __init__(self, *, environment: str, token: str, timeout: float | None = None) -> None:
        self.environment = environment
        self.url = base_url(environment)
        self._auth = httpx.BasicAuth(token, "")
        self.fingerprint = token_fingerprint(token)
        self.timeout = httpx.Timeout(
            timeout if timeout is not None else settings.FOCUS_READ_TIMEOUT,
            connect=min(settings.FOCUS_CONNECT_TIMEOUT, timeout or settings.FOCUS_CONNECT_TIMEOUT),
        )

    # --- documents. Reference: focus-nfe-api-v2.txt, "URLs" of each document type.
    def emit(self, doc_type: str, ref: str, payload: dict[str, Any],
             params: dict[str, str] | None = None) -> FocusResponse:
        return self.request("POST", f"/v2/{doc_type}", params={**(params or {}), "ref": ref},
                            json_body=payload)

    def consult(self, doc_type: str, ref: str, *, completa: bool = False) -> FocusResponse:
        params = {"completa": "1"} if completa else None
        return self.request("GET", f"/v2/{doc_type}/{ref}", params=params)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> FocusResponse:
        content = None if json_body is None else json.dumps(json_body).encode()
        content_type = "application/json" if content is not None else None
        response, duration_ms = self._send(method, path, params=params, content=content,
                                           content_type=content_type)
        return self._interpret(response, duration_ms)

    def request_raw(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> RawAnswer:
        """A call whose body or answer is not JSON (XML in; PDF or text out). Same errors."""
        response, duration_ms = self._send(method, path, params=params, content=content,
                                           content_type=content_type)
        if response.status_code >= 400:
            self._interpret(response, duration_ms)  # raises the error the status means
        return RawAnswer(
            status_code=response.status_code,
            content_type=response.headers.get("Content-Type", "application/octet-stream"),
            content=response.content,
            rate_limit=_parse_rate_limit(response.headers),
            headers=dict(response.headers),
        )

    def _send(self, method: str, path: str, *, params: dict[str, str] | None,
              content: bytes | None, content_type: str | None) -> tuple[httpx.Response, float]:
        """The one place a request leaves for Focus; httpx errors become Focus errors."""
        started = time.monotonic()
        headers = {"Content-Type": content_type} if content_type else None
        try:
            response = _http(self.url).request(
                method, path, params=params, content=content, headers=headers,
                auth=self._auth, timeout=self.timeout,
            )
        except httpx.ConnectTimeout as exc:
            raise self._log(FocusUnavailable(f"connect timeout: {exc}", sent=False),
                            method, path, started) from None
        except httpx.ConnectError as exc:
            raise self._log(FocusUnavailable(f"connection failed: {exc}", sent=False),
                            method, path, started) from None
        except httpx.PoolTimeout as exc:
            raise self._log(FocusUnavailable(f"no free connection: {exc}", sent=False),
                            method, path, started) from None
        except httpx.TimeoutException as exc:
            raise self._log(FocusTimeout(f"timeout: {exc}"), method, path, started) from None
        except httpx.TransportError as exc:
            # Reset or protocol error after the request went out: ambiguous.
            raise self._log(FocusUnavailable(f"transport error: {exc!r}", sent=True),
                            method, path, started) from None
        duration_ms = (time.monotonic() - started) * 1000
        signals.request_done(method=method, path=path, status_code=response.status_code,
                             seconds=duration_ms / 1000)
        logger.info(
            "focus %s %s -> %s in %.0fms (token %s)",
            method, path, response.status_code, duration_ms, self.fingerprint,
        )
        return response, duration_ms

    def _interpret(self, response: httpx.Response, duration_ms: float) -> FocusResponse:
        rate_limit = _parse_rate_limit(response.headers)
        status_code = response.status_code
        if status_code == 429:
            retry_after = rate_limit.reset if rate_limit else 60.0
            raise FocusRateLimited(max(retry_after, 1.0))
        if status_code >= 500:
            raise FocusUnavailable(f"Focus answered {status_code}", sent=True,
                                   status_code=status_code)
        try:
            body = response.json() if response.content else {}
        except ValueError:
            if status_code < 400:
                raise FocusMalformed(
                    f"Focus answered {status_code} with a body that is not JSON"
                ) from None
            body = {"mensagem": response.text[:500]}
        if status_code == 404:
            raise FocusNotFound(status_code, body)
        if status_code >= 400:
            raise FocusRejected(status_code, body)
        return FocusResponse(
            status_code=status_code, body=body, duration_ms=duration_ms, rate_limit=rate_limit,
            headers=dict(response.headers),
        )

    def _log(self, error: FocusUpstreamError, method: str, path: str,
             started: float) -> FocusUpstreamError:
        signals.request_done(method=method, path=path, error=error,
                             seconds=time.monotonic() - started)
        logger.warning(
            "focus %s %s failed after %.0fms (token %s): %s",
            method, path, (time.monotonic() - started) * 1000, self.fingerprint, error,
        )
        return error

    # --- files. Reference: SUPPLEMENT.md, "Files": paths relative to the environment's host.
    @contextmanager
    def download(self, path: str) -> Iterator[httpx.Response]:
        """Stream one file (``caminho_*`` path). The caller iterates ``response.iter_bytes()``.

        Raises the same errors as ``request``; a 404 is FocusNotFound.
        """
        if not path.startswith("/") or path.startswith("//"):
            raise FocusRejected(400, {"codigo": "caminho_invalido", "mensagem": path[:200]})
        started = time.monotonic()
        try:
            with _http(self.url).stream(
                "GET", path, auth=self._auth, timeout=self.timeout
            ) as response:
                signals.request_done(method="GET", path=path, status_code=response.status_code,
                                     seconds=time.monotonic() - started)
                if response.status_code == 404:
                    raise FocusNotFound(404, {"codigo": "nao_encontrado", "mensagem": path})
                if response.status_code == 429:
                    info = _parse_rate_limit(response.headers)
                    raise FocusRateLimited(info.reset if info else 60.0)
                if response.status_code >= 500:
                    raise FocusUnavailable(f"Focus answered {response.status_code}", sent=True,
                                           status_code=response.status_code)
                if response.status_code >= 400:
                    response.read()
                    raise FocusRejected(response.status_code, response.text)
                yield response
        except httpx.TimeoutException as exc:
            raise self._log(FocusTimeout(f"timeout: {exc}"), "GET", path, started) from None
        except httpx.TransportError as exc:
            raise self._log(FocusUnavailable(f"transport error: {exc!r}", sent=True),
                            "GET", path, started) from None
