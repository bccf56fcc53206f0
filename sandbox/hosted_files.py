"""Files a test hosts at a path of its choosing, and the log of every file download.

A document's own files are generated from the document (sandbox/files.py). A test of the
downloader itself (the gateway's archive) needs what no document makes: exact bytes it can
compare, a body of N bytes too large to hold in a control request or in the sandbox, a file that
is gone. Those are hosted here, at any file path, and win over a document's file at the same
path. Faults on a file are the ordinary fault rules with the file's path as `path_prefix`.

Every request for a file path is logged, faulted ones included, so a test counts what its
client fetched from "Focus". The log keeps the token's fingerprint, never the token.

The control endpoints that fill this are in sandbox/control_files.py.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sandbox.wire import Request

CHUNK = 64 * 1024
# The generated body repeats 0..255: cheap to make, and not one byte over and over, so a
# byte lost or shifted on the way changes the hash.
_PATTERN = bytes(range(256)) * (CHUNK // 256)
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def generated_chunks(size: int) -> Iterator[bytes]:
    for offset in range(0, size, CHUNK):
        yield _PATTERN[: min(CHUNK, size - offset)]


@dataclass(frozen=True)
class HostedFile:
    content_type: str
    size: int
    sha256: str
    # None: a generated body of `size` bytes, made chunk by chunk as it is sent.
    body: bytes | None = None

    def chunks(self) -> Iterator[bytes]:
        if self.body is not None:
            yield self.body
        else:
            yield from generated_chunks(self.size)

    def public(self, path: str) -> dict[str, Any]:
        return {"path": path, "content_type": self.content_type, "size": self.size,
                "sha256": self.sha256, "generated": self.body is None}


class HostedFiles:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, HostedFile] = {}
        self._requests: list[dict[str, Any]] = []

    def put(self, path: str, body: bytes, content_type: str) -> HostedFile:
        hosted = HostedFile(content_type=content_type, size=len(body),
                            sha256=hashlib.sha256(body).hexdigest(), body=body)
        with self._lock:
            self._files[path] = hosted
        return hosted

    def put_generated(self, path: str, size: int, content_type: str) -> HostedFile:
        digest = hashlib.sha256()
        for chunk in generated_chunks(size):
            digest.update(chunk)
        hosted = HostedFile(content_type=content_type, size=size, sha256=digest.hexdigest())
        with self._lock:
            self._files[path] = hosted
        return hosted

    def remove(self, path: str) -> bool:
        with self._lock:
            return self._files.pop(path, None) is not None

    def get(self, path: str) -> HostedFile | None:
        with self._lock:
            return self._files.get(path)

    def record(self, req: Request) -> None:
        scheme = req.headers.get("authorization", "").split(" ", 1)[0]
        with self._lock:
            self._requests.append({
                "method": req.method,
                "path": req.path,
                "auth_scheme": scheme or ("query" if "token" in req.query else ""),
                "token_sha256": hashlib.sha256(req.token.encode()).hexdigest()
                if req.token else None,
            })

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self._requests if path is None or r["path"] == path]

    def clear(self) -> None:
        with self._lock:
            self._files.clear()
            self._requests.clear()
