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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from fiscal.focus import budget, signals
from fiscal.focus.note_operations import NOTE_OPERATIONS
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


class FocusBudgetSpent(FocusRateLimited):
    """Our shared budget for the token is spent (budget.py): nothing was sent. Wait."""


class FocusNotSent(FocusUpstreamError):
    """The caller's ``before_send`` declined (its claim was lost): nothing was sent."""

    sent = False


@dataclass(frozen=True)
class FocusAnswer:
    """A JSON answer of Focus (2xx or 3xx)."""

    status_code: int
    body: Any
    duration_ms: float

    @property
    def data(self) -> dict[str, Any]:
        """The body when it is an object (Focus's documents and results), else empty."""
        return self.body if isinstance(self.body, dict) else {}


@dataclass(frozen=True)
class FocusFile:
    """An answer that is not JSON (a PDF, a text file), passed on as Focus gave it."""

    status_code: int
    content_type: str
    content: bytes


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


BeforeSend = Callable[[], bool]


class FocusClient:
    """Calls to one Focus environment with one company's token, on behalf of one tenant.

    Every call takes one request from the token's shared budget (budget.py) before it leaves,
    and every answer's ``Rate-Limit-*`` headers (or 429) are recorded there: callers never see
    the budget, only ``FocusBudgetSpent`` / ``FocusRateLimited``. ``urgent``: submits, inline
    operations, hook-triggered syncs; scheduled polls pass False and leave a reserve free.

    ``before_send``: called once the request has its budget, just before it leaves (the
    write-ahead "in doubt" mark goes there); returning False sends nothing (FocusNotSent).
    """

    def __init__(self, *, environment: str, token: str, tenant_id: int | None = None,
                 urgent: bool = True, timeout: float | None = None) -> None:
        self.environment = environment
        self.url = base_url(environment)
        self._auth = httpx.BasicAuth(token, "")
        self.fingerprint = token_fingerprint(token)
        self.tenant_id = tenant_id or 0
        self.urgent = urgent
        self.timeout = httpx.Timeout(
            timeout if timeout is not None else settings.FOCUS_READ_TIMEOUT,
            connect=min(settings.FOCUS_CONNECT_TIMEOUT, timeout or settings.FOCUS_CONNECT_TIMEOUT),
        )

    # --- documents. Reference: focus-nfe-api-v2.txt, "URLs" of each document type.
    def emit(self, doc_type: str, ref: str, payload: dict[str, Any], *,
             params: dict[str, str] | None = None,
             before_send: BeforeSend | None = None) -> FocusAnswer:
        return self._json("POST", f"/v2/{doc_type}", params={**(params or {}), "ref": ref},
                          json_body=payload, before_send=before_send)

    def import_xml(self, ref: str, xml: bytes, *,
                   before_send: BeforeSend | None = None) -> FocusAnswer:
        """NFe "Importação": the XML of a note issued elsewhere; the answer is its consulta."""
        return self._json("POST", "/v2/nfe/importacao", params={"ref": ref}, content=xml,
                          content_type="application/xml", before_send=before_send)

    def consult(self, doc_type: str, ref: str, *, completa: bool = False,
                before_send: BeforeSend | None = None) -> FocusAnswer:
        params = {"completa": "1"} if completa else None
        return self._json("GET", f"/v2/{doc_type}/{ref}", params=params,
                          before_send=before_send)

    def operation(self, doc_type: str, ref: str, name: str,
                  body: dict[str, Any] | None = None) -> FocusAnswer:
        """One of NOTE_OPERATIONS on the note ``ref`` (cancel, CCe, e-mail, ...)."""
        method, suffix = NOTE_OPERATIONS[name]
        path = f"/v2/{doc_type}/{ref}" + (f"/{suffix}" if suffix else "")
        return self._json(method, path, json_body=body or None)

    def inutilizar(self, doc_type: str, body: dict[str, Any]) -> FocusAnswer:
        """NFe / NFCe "Inutilização": synchronous, the answer is SEFAZ's result."""
        return self._json("POST", f"/v2/{doc_type}/inutilizacao", json_body=body)

    def danfe_preview(self, content: bytes, *, content_type: str) -> FocusFile:
        """NFe "Pré-visualização de DANFe": a PDF of a note that is not issued."""
        return self._file("POST", "/v2/nfe/danfe", content=content, content_type=content_type)

    # --- lotes RPS. Reference: FocusNFe/api-doc _lote_rps.md, "NFSe por Arquivo".
    def lote_create(self, ref: str, data: Any) -> FocusFile:
        return self._file("POST", "/v2/lotes_rps", params={"ref": ref},
                          content=json.dumps(data).encode(), content_type="application/json")

    def lote_get(self, ref: str) -> FocusFile:
        return self._file("GET", f"/v2/lotes_rps/{ref}")

    def lote_resposta(self, ref: str, content: bytes) -> FocusFile:
        return self._file("POST", f"/v2/lotes_rps/{ref}/resposta", content=content,
                          content_type="text/plain")

    # --- hooks. Reference: SUPPLEMENT.md, "Hooks (gatilhos)".
    def hooks_list(self) -> list[dict[str, Any]]:
        body = self._json("GET", "/v2/hooks").body
        return [h for h in body if isinstance(h, dict)] if isinstance(body, list) else []

    def hook_create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/v2/hooks", json_body=body).data

    def hook_delete(self, focus_id: str) -> None:
        self._json("DELETE", f"/v2/hooks/{focus_id}")

    # --- empresas (an account / reseller token; produção only, dry_run=1 simulates).
    # Reference: FocusNFe/api-doc _empresas.md; SUPPLEMENT.md "Empresas".
    def empresa_create(self, data: dict[str, Any], *, dry_run: bool = False) -> Any:
        return self._json("POST", "/v2/empresas", params=_dry(dry_run), json_body=data).body

    def empresa_update(self, focus_id: str, data: dict[str, Any], *,
                       dry_run: bool = False) -> Any:
        return self._json("PUT", f"/v2/empresas/{focus_id}", params=_dry(dry_run),
                          json_body=data).body

    def empresa_get(self, focus_id: str) -> Any:
        return self._json("GET", f"/v2/empresas/{focus_id}").body

    def empresas_find(self, *, cnpj: str = "", cpf: str = "") -> Any:
        params = {"cnpj": cnpj} if cnpj else {"cpf": cpf}
        return self._json("GET", "/v2/empresas", params=params).body

    # --- files. Reference: SUPPLEMENT.md, "Files": paths relative to the environment's host.
    @contextmanager
    def download(self, path: str) -> Iterator[httpx.Response]:
        """Stream one file (``caminho_*`` path). The caller iterates ``response.iter_bytes()``.

        Files are served like public files and take nothing from the token's budget; a 429
        still blocks the token for everyone. Raises the same errors as every call; a 404 is
        FocusNotFound.
        """
        if not path.startswith("/") or path.startswith("//"):
            raise FocusRejected(400, {"codigo": "caminho_invalido", "mensagem": path[:200]})
        response, duration_ms = self._send("GET", path, stream=True, budgeted=False)
        try:
            if response.status_code >= 400:
                response.read()
                if response.status_code == 404:
                    raise FocusNotFound(404, {"codigo": "nao_encontrado", "mensagem": path})
                self._interpret(response, duration_ms)  # raises what the status means
            yield response
        except httpx.TimeoutException as exc:
            raise self._log(FocusTimeout(f"timeout: {exc}"), "GET", path, duration_ms) from None
        except httpx.TransportError as exc:
            raise self._log(FocusUnavailable(f"transport error: {exc!r}", sent=True),
                            "GET", path, duration_ms) from None
        finally:
            response.close()

    # --- the wire
    def _json(self, method: str, path: str, *, params: dict[str, str] | None = None,
              json_body: Any = None, content: bytes | None = None,
              content_type: str | None = None,
              before_send: BeforeSend | None = None) -> FocusAnswer:
        if json_body is not None:
            content, content_type = json.dumps(json_body).encode(), "application/json"
        response, duration_ms = self._send(method, path, params=params, content=content,
                                           content_type=content_type, before_send=before_send)
        return self._interpret(response, duration_ms)

    def _file(self, method: str, path: str, *, params: dict[str, str] | None = None,
              content: bytes | None = None, content_type: str | None = None) -> FocusFile:
        response, duration_ms = self._send(method, path, params=params, content=content,
                                           content_type=content_type)
        if response.status_code >= 400:
            self._interpret(response, duration_ms)  # raises the error the status means
        return FocusFile(
            status_code=response.status_code,
            content_type=response.headers.get("Content-Type", "application/octet-stream"),
            content=response.content,
        )

    def _send(self, method: str, path: str, *, params: dict[str, str] | None = None,
              content: bytes | None = None, content_type: str | None = None,
              before_send: BeforeSend | None = None, stream: bool = False,
              budgeted: bool = True) -> tuple[httpx.Response, float]:
        """The one place a request leaves for Focus: budget first, httpx errors become Focus
        errors, and what Focus says of its rate limit is recorded for every process."""
        if budgeted:
            decision = budget.acquire(fingerprint=self.fingerprint, tenant_id=self.tenant_id,
                                      urgent=self.urgent)
            if not decision.allowed:
                raise FocusBudgetSpent(decision.retry_after)
        if before_send is not None and not before_send():
            raise FocusNotSent("the caller withdrew the request before it left")
        started = time.monotonic()
        headers = {"Content-Type": content_type} if content_type else None
        http = _http(self.url)
        try:
            request = http.build_request(method, path, params=params, content=content,
                                         headers=headers, timeout=self.timeout)
            response = http.send(request, auth=self._auth, stream=stream)
        except httpx.ConnectTimeout as exc:
            raise self._log(FocusUnavailable(f"connect timeout: {exc}", sent=False),
                            method, path, _since(started)) from None
        except httpx.ConnectError as exc:
            raise self._log(FocusUnavailable(f"connection failed: {exc}", sent=False),
                            method, path, _since(started)) from None
        except httpx.PoolTimeout as exc:
            raise self._log(FocusUnavailable(f"no free connection: {exc}", sent=False),
                            method, path, _since(started)) from None
        except httpx.TimeoutException as exc:
            raise self._log(FocusTimeout(f"timeout: {exc}"), method, path,
                            _since(started)) from None
        except httpx.TransportError as exc:
            # Reset or protocol error after the request went out: ambiguous.
            raise self._log(FocusUnavailable(f"transport error: {exc!r}", sent=True),
                            method, path, _since(started)) from None
        duration_ms = _since(started)
        signals.request_done(method=method, path=path, status_code=response.status_code,
                             seconds=duration_ms / 1000)
        self._record_rate_limit(response)
        logger.info(
            "focus %s %s -> %s in %.0fms (token %s)",
            method, path, response.status_code, duration_ms, self.fingerprint,
        )
        return response, duration_ms

    def _record_rate_limit(self, response: httpx.Response) -> None:
        """Teach every process what Focus said: remaining 0, or a 429, blocks the token."""
        info = _parse_rate_limit(response.headers)
        if response.status_code == 429:
            budget.observe(fingerprint=self.fingerprint, remaining=0,
                           reset=_retry_after(info))
        elif info is not None:
            budget.observe(fingerprint=self.fingerprint, remaining=info.remaining,
                           reset=info.reset)

    def _interpret(self, response: httpx.Response, duration_ms: float) -> FocusAnswer:
        status_code = response.status_code
        if status_code == 429:
            raise FocusRateLimited(_retry_after(_parse_rate_limit(response.headers)))
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
        return FocusAnswer(status_code=status_code, body=body, duration_ms=duration_ms)

    def _log(self, error: FocusUpstreamError, method: str, path: str,
             duration_ms: float) -> FocusUpstreamError:
        signals.request_done(method=method, path=path, error=error, seconds=duration_ms / 1000)
        logger.warning(
            "focus %s %s failed after %.0fms (token %s): %s",
            method, path, duration_ms, self.fingerprint, error,
        )
        return error


def _dry(dry_run: bool) -> dict[str, str] | None:
    return {"dry_run": "1"} if dry_run else None


def _since(started: float) -> float:
    return (time.monotonic() - started) * 1000


def _retry_after(info: RateLimitInfo | None) -> float:
    return max(info.reset if info else 60.0, 1.0)
