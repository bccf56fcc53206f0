"""A real HTTP server on 127.0.0.1 that records what it receives and answers what a test queued.

The one home-made HTTP peer of the suite: the webhook receivers, the hook receiver the sandbox
posts to, and a web that is not ready yet are all this server with other replies. (For a peer
that must break HTTP itself, see loopback.py.)
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    method: str = "POST"
    # The headers with their names as the client wrote them.
    sent_headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before answering (a hanging receiver); an Event lets tests release it.
    hang: float = 0.0


class Receiver:
    """Records every request (GET or POST); answers the queued replies, then ``default``."""

    def __init__(self, default: Reply | None = None) -> None:
        self.requests: list[Received] = []
        # The status of each answer, recorded before it is sent.
        self.statuses: list[int] = []
        self.replies: list[Reply] = []
        self.default = default or Reply()
        self.release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                        method=self.command, sent_headers=dict(self.headers),
                    ))
                    reply = receiver.replies.pop(0) if receiver.replies else receiver.default
                    receiver.statuses.append(reply.status)
                if reply.hang:
                    receiver.release.wait(reply.hang)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
