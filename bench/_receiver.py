"""The tenant's webhook endpoint for benchmarks: answers 200 and records the wall-clock arrival
of each delivery, once per key (by default the ``webhook-id``). Not a test helper."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Key = Callable[[Mapping[str, str], bytes], object]


def by_webhook_id(headers: Mapping[str, str], body: bytes) -> object:
    return headers.get("webhook-id", "")


class Receiver:
    """``arrivals`` maps each key to its first arrival; ``hits`` counts every request.

    ``hang``: never answer (until ``stop``), the endpoint that must not slow the others."""

    def __init__(self, key: Key = by_webhook_id, hang: bool = False) -> None:
        self.arrivals: dict[object, float] = {}
        self.hits = 0
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as a production receiver (nginx, any framework) answers: the gateway
            # reuses its connections. (Every answer carries a Content-Length.)
            protocol_version = "HTTP/1.1"
            # Headers and body are two writes: without this, Nagle + delayed ACK add ~40 ms.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time()
                receiver.hits += 1
                receiver.arrivals.setdefault(key(self.headers, body), now)
                if hang:
                    receiver.release.wait(120)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 256
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
