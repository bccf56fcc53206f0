"""A ZIP written while it is sent: stdlib zipfile over a sink that is drained chunk by chunk.

zipfile writes data descriptors when its file cannot seek, so nothing is held but the chunk in
flight; each member is compressed as its bytes arrive from the archive.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime


class _Sink(io.RawIOBase):
    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._position = 0
        self.pending = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        self._position += len(data)
        self.pending += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        self.pending = 0
        return data


Member = tuple[str, datetime, Callable[[], Iterable[bytes]]]


def zip_stream(members: Iterable[Member], *, flush_bytes: int = 256 * 1024) -> Iterator[bytes]:
    """Yield a ZIP of ``(name, modified, open_chunks)`` members, in order."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, modified, open_chunks in members:
            info = zipfile.ZipInfo(name, date_time=modified.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, mode="w") as member:
                for chunk in open_chunks():
                    member.write(chunk)
                    if sink.pending >= flush_bytes:
                        yield sink.drain()
            yield sink.drain()
    yield sink.drain()
