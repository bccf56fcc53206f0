"""HTTP plumbing: a threading HTTP/1.1 server with keep-alive, auth, faults and the counters.

`SandboxServer` is the importable entry point:

    srv = SandboxServer(host="127.0.0.1", port=0, companies=[...]).start()
    srv.url      # "http://127.0.0.1:54321"
    srv.stop()

One thread per connection (`ThreadingHTTPServer`, daemon threads): a request hanging on purpose
blocks only its own thread, and stopping never waits for it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import socket
import struct
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sandbox import api, control
from sandbox.app import App
from sandbox.faults import FaultRule
from sandbox.state import DEFAULT_ACCOUNT_TOKEN, DOC_TYPES, Config, Store
from sandbox.wire import Request, Response, json_response

MAX_BODY = 10 * 1024 * 1024
_EMISSION_PATHS = {f"/v2/{t}": t for t in DOC_TYPES}


def presented_token(headers: dict[str, str], query: dict[str, str]) -> str:
    """Basic auth with the token as user name (empty password), or `?token=`."""
    auth = headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(auth[6:].strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.split(":", 1)[0]
    return query.get("token", "")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FocusNFeSandbox/1.0"
    # Loopback request/response ping-pong suffers badly from Nagle + delayed ACK.
    disable_nagle_algorithm = True
    # Idle keep-alive connections are dropped after this long.
    timeout = 300
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"sandbox: {self.address_string()} {format % args}\n")

    # -- request ----------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        app = self.server.app
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(
                json_response(
                    413,
                    {
                        "codigo": "requisicao_invalida",
                        "mensagem": "Corpo da requisição muito grande",
                    },
                )
            )
            return
        token = presented_token(headers, query)
        req = Request(
            method=self.command,
            path=path,
            query=query,
            headers=headers,
            body=body,
            base_url=self.server.base_url,
            token=token,
            principal=app.principal(token),
        )
        if path.startswith("/__sandbox__/"):
            self._send(control.dispatch(app, req))
            return
        self._count_post(req)
        if api.is_file_path(path):
            app.hosted_files.record(req)  # before the fault: a faulted download counts too
        fault = app.faults.pick(self.command, path)
        if fault is not None and not fault.commit:
            self._apply_fault(fault, None)
            return
        response = api.dispatch(app, req)
        if app.store.config.response_delay > 0:
            self.server.stopping.wait(app.store.config.response_delay)
        if fault is not None:
            self._apply_fault(fault, response)
            return
        self._send(response)

    # Every method goes through the one dispatcher (BaseHTTPRequestHandler looks up do_<METHOD>).
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    def _count_post(self, req: Request) -> None:
        """Every emission POST received is counted, whatever happens to it next."""
        doc_type = _EMISSION_PATHS.get(req.path)
        if req.method == "POST" and doc_type and req.query.get("ref"):
            store = self.server.app.store
            with store.lock:
                store.counter(req.token, doc_type, req.query["ref"]).posts += 1

    # -- response ---------------------------------------------------------------------------

    def _send(self, response: Response, body: bytes | None = None) -> None:
        payload = response.body if body is None else body
        streamed = response.stream is not None and body is None
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length",
                         str(response.stream_length if streamed else len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if streamed:
            assert response.stream is not None
            for chunk in response.stream():
                self.wfile.write(chunk)
        else:
            self.wfile.write(payload)

    def _apply_fault(self, fault: FaultRule, response: Response | None) -> None:
        app = self.server.app
        if fault.mode == "5xx":
            self._send(
                json_response(
                    fault.status,
                    {
                        "codigo": "erro_interno",
                        "mensagem": "Erro interno do servidor (falha injetada pelo sandbox)",
                    },
                )
            )
        elif fault.mode == "429":
            limit = app.store.config.rate_limit or 100
            reset = fault.reset_seconds
            if reset is None:
                reset = app.store.config.rate_limit_window
            self._send(
                json_response(
                    429,
                    {
                        "codigo": "limite_requisicoes_excedido",
                        "mensagem": "Limite de requisições por minuto excedido (falha injetada)",
                    },
                    headers={
                        "Rate-Limit-Limit": str(limit),
                        "Rate-Limit-Remaining": "0",
                        "Rate-Limit-Reset": str(int(reset)),
                    },
                )
            )
        elif fault.mode == "reset":
            self._reset_connection()
        elif fault.mode in ("hang", "accept_then_hang"):
            seconds = fault.hang_seconds
            if seconds is None:
                seconds = app.store.config.hang_seconds
            self.server.stopping.wait(seconds)
            self._reset_connection()
        elif fault.mode == "malformed_json":
            source = response or json_response(200, {"status": "autorizado"})
            truncated = source.body[: max(1, len(source.body) // 2)]
            if truncated == source.body or _parses(truncated):
                truncated = b'{"status": '
            self._send(source, body=truncated)

    def _reset_connection(self) -> None:
        """Close with RST and no answer: SO_LINGER with a zero timeout."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()


def _parses(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App, *, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.verbose = verbose
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        host, port = self.server_address[:2]
        self.base_url = f"http://{host}:{port}"

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
            self._connections.clear()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()


class SandboxServer:
    """A Focus NFe v2 look-alike on loopback. See sandbox/README.md."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        account_token: str = DEFAULT_ACCOUNT_TOKEN,
        companies: list[dict[str, Any]] | None = None,
        companies_file: str | Path | None = None,
        state_file: str | Path | None = None,
        processing_delay: float = 0.0,
        hook_schedule_scale: float = 1.0,
        rate_limit: int = 100,
        hang_seconds: float = 30.0,
        nfce_efetivar_delay: float = 60.0,
        verbose: bool = False,
    ) -> None:
        loaded = list(companies or [])
        if companies_file:
            data = json.loads(Path(companies_file).read_text(encoding="utf-8"))
            loaded.extend(data if isinstance(data, list) else [data])
        config = Config(
            processing_delay=processing_delay,
            hook_schedule_scale=hook_schedule_scale,
            rate_limit=rate_limit,
            hang_seconds=hang_seconds,
            nfce_efetivar_delay=nfce_efetivar_delay,
        )
        self.app = App(
            account_token=account_token,
            config=config,
            companies=loaded,
            state_file=Path(state_file) if state_file else None,
        )
        self._address = (host, port)
        self._verbose = verbose
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def store(self) -> Store:
        return self.app.store

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return self._httpd.base_url

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    def _bind(self) -> _Server:
        """Listen on the address and start the app's background work; serving is the caller's."""
        self._httpd = _Server(self._address, self.app, verbose=self._verbose)
        self.app.store.base_url = self._httpd.base_url
        self.app.start()
        return self._httpd

    def start(self) -> SandboxServer:
        httpd = self._bind()
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self, ready: Callable[[str], None] | None = None) -> None:
        """Run in the foreground until interrupted (the CLI); `ready` gets the bound URL."""
        httpd = self._bind()
        if ready is not None:
            ready(httpd.base_url)
        try:
            httpd.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self._close()

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _close(self) -> None:
        assert self._httpd is not None
        self._httpd.stopping.set()
        self._httpd.server_close()
        self._httpd.close_connections()
        self.app.stop()

    def add_companies(self, companies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self.app.store.lock:
            return [self.app.store.add_company(c).public(with_tokens=True) for c in companies]

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
