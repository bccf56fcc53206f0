"""A tiny Focus file host on loopback: serves bytes, and fails on demand (5xx, hang, 429).

Real HTTP, so the gateway's own client (fiscal/focus/client.py) is exercised unmocked. Large
files are generated on the fly in chunks, so the server itself holds no big buffers.

Also runnable (the benchmark starts it in its own process):
    python -m tests.support.file_host --small 200 --small-size 8000 --large 3 --large-size 50e6
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 64 * 1024
_PATTERN = (bytes(range(256)) * (CHUNK // 256))[:CHUNK]


def generated_chunks(size: int) -> list[int]:
    return [min(CHUNK, size - offset) for offset in range(0, size, CHUNK)]


def generated_sha256(size: int) -> str:
    digest = hashlib.sha256()
    for length in generated_chunks(size):
        digest.update(_PATTERN[:length])
    return digest.hexdigest()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle + delayed ACK add 40 ms
    # to every keep-alive response and the benchmark would measure the file host.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        upstream = self.server.upstream
        path = self.path.split("?", 1)[0]
        fault = upstream.take(path, self.headers.get("Authorization", ""))
        if fault == "500":
            self._send(500, b'{"codigo":"erro_interno"}', "application/json")
            return
        if fault == "429":
            self._send(429, b'{"codigo":"limite_requisicoes_excedido"}', "application/json",
                       {"Rate-Limit-Limit": "100", "Rate-Limit-Remaining": "0",
                        "Rate-Limit-Reset": "7"})
            return
        if fault == "hang":
            time.sleep(upstream.hang_seconds)
            self.close_connection = True
            return
        entry = upstream.files.get(path)
        if entry is None:
            self._send(404, b'{"codigo":"nao_encontrado"}', "application/json")
            return
        content_type, body = entry
        if isinstance(body, int):
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(body))
            self.end_headers()
            for length in generated_chunks(body):
                self.wfile.write(_PATTERN[:length])
            return
        self._send(200, body, content_type)

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    upstream: Upstream


class Upstream:
    def __init__(self, hang_seconds: float = 3.0) -> None:
        self.files: dict[str, tuple[str, bytes | int]] = {}
        self.faults: dict[str, list[str]] = defaultdict(list)
        self.requests: list[tuple[str, str]] = []
        self.hang_seconds = hang_seconds
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.upstream = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Upstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Back to no files, no faults, no requests seen (one host serves a whole session)."""
        with self._lock:
            self.files.clear()
            self.faults.clear()
            self.requests.clear()

    def add(self, path: str, body: bytes, content_type: str = "application/xml") -> str:
        self.files[path] = (content_type, body)
        return hashlib.sha256(body).hexdigest()

    def add_generated(self, path: str, size: int, content_type: str = "application/pdf") -> str:
        self.files[path] = (content_type, size)
        return generated_sha256(size)

    def fail(self, path: str, *faults: str) -> None:
        """The next requests for ``path`` get these faults, in order: "500", "hang", "429"."""
        with self._lock:
            self.faults[path].extend(faults)

    def take(self, path: str, authorization: str) -> str | None:
        with self._lock:
            self.requests.append((path, authorization))
            return self.faults[path].pop(0) if self.faults[path] else None

    def count(self, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for p, _ in self.requests if path is None or p == path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=0)
    parser.add_argument("--small-size", type=float, default=8000)
    parser.add_argument("--large", type=int, default=0)
    parser.add_argument("--large-size", type=float, default=50e6)
    args = parser.parse_args()
    upstream = Upstream()
    for index in range(args.small):
        upstream.add_generated(f"/arquivos_development/bench/small-{index}.xml",
                               int(args.small_size), "application/xml")
    for index in range(args.large):
        upstream.add_generated(f"/arquivos_development/bench/large-{index}.pdf",
                               int(args.large_size))
    upstream.start()
    print(upstream.url, flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin


if __name__ == "__main__":
    main()
