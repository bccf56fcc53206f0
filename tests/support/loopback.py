"""Raw loopback TCP servers for tests: a receiver that speaks exactly the bytes a test scripts.

``http.server`` is too polite to play a hostile receiver (it always sends a well-formed status
line and headers, at once). ``LoopbackServer`` accepts on 127.0.0.1, reads one HTTP request per
connection (unless ``read_request=False``: a TLS peer) and hands the socket to a behaviour (a
function of the connection) that writes whatever it likes, as slowly as it likes, or nothing at
all. Behaviours end when the test stops the server (``stopping`` is set), or when the client
goes away.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

Behaviour = Callable[["Connection"], None]


@dataclass
class Connection:
    sock: socket.socket
    request: bytes  # the request as received (head and body)
    stopping: threading.Event

    def send(self, data: bytes) -> bool:
        """Send; False once the client has gone."""
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def drip(self, data: bytes, every: float) -> None:
        """One byte every ``every`` seconds, until done, the client leaves or the test ends."""
        for i in range(len(data)):
            if not self.send(data[i:i + 1]) or self.stopping.wait(every):
                return

    def hold(self) -> None:
        """Accepted, request read, never a byte back (until the test ends)."""
        self.stopping.wait()


def _read_request(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@dataclass
class LoopbackServer:
    behaviour: Behaviour
    # False: hand the socket over right after accept (a TLS peer, or a silent one).
    read_request: bool = True
    requests: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        with sock:
            try:
                sock.settimeout(10)
                request = _read_request(sock) if self.read_request else b""
                self.requests.append(request)
                self.behaviour(Connection(sock=sock, request=request, stopping=self.stopping))
            except OSError:
                pass

    def stop(self) -> None:
        self.stopping.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=2)
