"""The only code that calls tenant URLs (DESIGN.md §3).

Every call is guarded against SSRF: the host is resolved here, every address it resolves to is
checked, and the connection is made to that checked address (the Host header and, for https,
the TLS SNI and certificate check keep the original name), so a DNS answer that changes between
the check and the connect cannot redirect us. Redirects are never followed. Nothing above this
module sees an httpx exception: failures are ``TransportError`` subclasses.

One wall-clock deadline (``FG_WEBHOOKS_TIMEOUT``) covers the whole exchange: connect, TLS
handshake, sending, the status line and headers, and the body. httpx's timeouts are per read,
so a receiver dripping one header byte a second would hold a worker until the task's time
limit killed it, with no attempt recorded (issue 10). Here every socket operation is given only
the time left before the deadline (``_DeadlineBackend``). What comes back is kept as a bounded
copy made safe to store (``printable``): Postgres text refuses NUL, and receivers are hostile.
"""

from __future__ import annotations

import contextvars
import ipaddress
import os
import re
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
# IPv6 prefixes that carry an IPv4 address: NAT64 and 6to4. Checked as the embedded address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# Hosts made of digits, dots and hex: integer / octal / hex / shortened IPv4 forms
# ("2130706433", "0x7f000001", "0177.0.0.1", "127.1") that resolvers treat as addresses.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.I)
# C0 controls but tab and newline, DEL, C1 controls: never stored from a receiver.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
ERROR_MAX_CHARS = 500  # Attempt.error


def printable(value: str, limit: int) -> str:
    """A copy of text from outside that Postgres stores and a reader can trust: no NUL or other
    control characters (tab and newline stay), valid UTF-8 (lone surrogates replaced), at most
    ``limit`` characters."""
    value = _CONTROL.sub("", value[: limit * 2])
    return value.encode("utf-8", "replace").decode("utf-8")[:limit]


class TransportError(Exception):
    """A delivery attempt that got no HTTP answer. ``connected``: bytes may have left us."""

    connected = False

    def __init__(self, message: str = "") -> None:
        # Messages quote what the receiver sent (a bad header line, a reason): store-safe.
        super().__init__(printable(message, ERROR_MAX_CHARS))


class UnsafeURL(TransportError):
    """Refused before any connection: scheme, credentials, or an address we never call."""


class DeliveryTimeout(TransportError):
    connected = True


class ConnectionFailed(TransportError):
    pass


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: str  # the first FG_WEBHOOKS_RESPONSE_MAX_BYTES, decoded leniently, ``printable``
    retry_after: float | None
    duration_ms: int
    address: str


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(ip: IPAddress) -> str | None:
    """Why we never connect to this address, or None when it is fine."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = address_refusal(embedded)
            return f"{reason} (inside {ip})" if reason else None
    if ip.is_loopback:
        return None if settings.FG_WEBHOOKS_ALLOW_LOOPBACK else f"loopback address {ip}"
    if ip in _METADATA:
        return f"cloud metadata address {ip}"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return f"shared (CGNAT) address {ip}"
    for flag in ("is_unspecified", "is_link_local", "is_multicast", "is_private", "is_reserved"):
        if getattr(ip, flag):
            return f"{flag.removeprefix('is_').replace('_', '-')} address {ip}"
    if not ip.is_global:
        return f"non-public address {ip}"
    return None


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host):
        try:
            # inet_aton reads the legacy forms exactly as the C resolver would.
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise UnsafeURL(f"host {host!r} is not a valid address") from None
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the name resolves to (tests patch this to simulate DNS)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConnectionFailed(f"cannot resolve {host}: {exc}") from None
    seen: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in seen:
            seen.append(ip)
    return seen


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (lowercased, no brackets)
    port: int
    path: str  # path + query
    addresses: tuple[IPAddress, ...]


def _split(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"invalid URL: {exc}") from None
    scheme = parts.scheme.lower()
    allowed = {"https"} if settings.FG_WEBHOOKS_REQUIRE_HTTPS else {"http", "https"}
    if scheme not in allowed:
        raise UnsafeURL(f"scheme must be {' or '.join(sorted(allowed))}, not {scheme or 'none'}")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("credentials in the URL are not allowed")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeURL("URL has no host")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port or (443 if scheme == "https" else 80), path


# A host name as DNS spells it (after IDNA): labels of letters, digits and inner hyphens.
_HOST_NAME = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")


def _is_localhost(host: str) -> bool:
    # RFC 6761: "localhost" and its subdomains are loopback, whatever a resolver says.
    return host == "localhost" or host.endswith(".localhost")


def check_url(url: str, *, resolve_names: bool = True) -> Target:
    """Validate a URL and every address it points at. Raises UnsafeURL (or ConnectionFailed
    when the name does not resolve).

    ``resolve_names=False`` (registration): the URL, literal addresses and localhost are
    checked, a name is only checked for its spelling; every delivery resolves and checks it.
    """
    scheme, host, port, path = _split(url)
    literal = _literal_address(host)
    if literal is None and _is_localhost(host):
        literal = ipaddress.IPv4Address("127.0.0.1")
    if literal is None:
        try:
            spelled = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise UnsafeURL(f"host {host!r} is not a valid name") from None
        if not _HOST_NAME.match(spelled):
            raise UnsafeURL(f"host {host!r} is not a valid name")
    if literal is not None:
        addresses = [literal]
    elif not resolve_names:
        addresses = []
    else:
        addresses = resolve(host, port)
        if not addresses:
            raise ConnectionFailed(f"{host} resolves to no address")
    for ip in addresses:
        reason = address_refusal(ip)
        if reason:
            # One bad answer refuses the whole name: mixing public and private answers is
            # how DNS rebinding attacks pick their moment.
            raise UnsafeURL(f"{host} is refused: {reason}")
    return Target(scheme, host, port, path, tuple(addresses))


# --- the deadline ----------------------------------------------------------------------------

# When the exchange in progress must be over (time.monotonic()); set by post() for its call.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "webhook_deadline", default=None)


def _left(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    """The timeout for one socket operation: its own, cut to the time left to the deadline.

    Each blocking call gets at most what is left, so however a receiver splits its bytes the
    exchange ends by the deadline. (One recv waits once; CPython bounds an SSL read, an SSL
    handshake and a connect to their timeout in total.)
    """
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the delivery deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # httpcore's own write gives every partial send the whole timeout again: a receiver
        # reading one byte at a time would stretch it. Send here, each try bounded by what is
        # left.
        sock: socket.socket = self._inner.get_extra_info("socket")
        view = memoryview(buffer)
        try:
            while view:
                sock.settimeout(_left(timeout, httpcore.WriteTimeout))
                view = view[sock.send(view):]
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(
            ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync backend with every operation held to the exchange's deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_tcp(
            host, port, _left(timeout, httpcore.ConnectTimeout), local_address,
            socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None
                            ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("tenant URLs are never unix sockets")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _Transport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__(trust_env=False)
        # httpx offers no public way to choose httpcore's network backend; the pool it builds
        # is replaced by the same pool on the deadline backend. Keep-alive: a pooled
        # connection is keyed by address, and this pool serves one tenant host only (see
        # _http), so two hosts on one address never share a TLS session negotiated for the
        # other's name. Idle connections are dropped soon: receivers close theirs early.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=50, max_keepalive_connections=8, keepalive_expiry=5.0,
            network_backend=_DeadlineBackend(),
        )


# One client (connection pool) per (scheme, host, port), the least recently used dropped past
# _MAX_HOSTS. Made lazily in each process: a prefork child never shares its parent's sockets.
_MAX_HOSTS = 64
_clients: OrderedDict[tuple[str, str, int], httpx.Client] = OrderedDict()
_clients_pid = 0
_clients_lock = threading.Lock()


def _http(target: Target) -> httpx.Client:
    global _clients_pid
    key = (target.scheme, target.host, target.port)
    with _clients_lock:
        if _clients_pid != os.getpid():
            _clients.clear()  # inherited across a fork: not ours to use (nor to close)
            _clients_pid = os.getpid()
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = httpx.Client(
                follow_redirects=False,
                # Never a proxy from the environment: it would connect for us, unchecked.
                trust_env=False,
                transport=_Transport(),
            )
            if len(_clients) > _MAX_HOSTS:
                _, oldest = _clients.popitem(last=False)
                oldest.close()
        else:
            _clients.move_to_end(key)
        return client


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value.strip()), 0.0)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST ``body`` to ``url`` with every guard on. Raises TransportError when no answer.

    The whole exchange ends by ``FG_WEBHOOKS_TIMEOUT``; an answer whose body is still coming
    at the deadline is a timeout. Reading stops at ``FG_WEBHOOKS_RESPONSE_MAX_BYTES``.
    """
    target = check_url(url)
    address = target.addresses[0]
    netloc = f"[{address}]" if address.version == 6 else str(address)
    direct = f"{target.scheme}://{netloc}:{target.port}{target.path}"
    extensions: dict[str, object] = {}
    if target.scheme == "https":
        # TLS to the checked address, but SNI and certificate check against the URL's name.
        extensions["sni_hostname"] = target.host
    total = settings.FG_WEBHOOKS_TIMEOUT
    timeout = httpx.Timeout(total, connect=min(settings.FG_WEBHOOKS_CONNECT_TIMEOUT, total))
    limit = settings.FG_WEBHOOKS_RESPONSE_MAX_BYTES
    started = time.monotonic()
    token = _deadline.set(started + total)
    try:
        # Built inside the guard: a header value httpx cannot encode (an authorization stored
        # before values were checked) is a failed attempt, not an exception that leaves the
        # delivery claimed.
        client = _http(target)
        request = client.build_request(
            "POST", direct, content=body, timeout=timeout, extensions=extensions,
            # identity: the copy we keep is the raw bytes, and nothing is inflated for us.
            headers={**headers, "Host": _host_header(target), "Accept-Encoding": "identity"},
        )
        response = client.send(request, stream=True)
        try:
            kept = b""
            # Raw bytes: a Content-Encoding is never inflated for a receiver (a gzip bomb).
            # A transport may hand back an answer already read (httpx's MockTransport).
            chunks = [response.content] if response.is_stream_consumed else response.iter_raw()
            for chunk in chunks:
                kept += chunk
                if len(kept) >= limit:
                    break  # enough to show: the rest is never read
        finally:
            response.close()
    except httpx.TimeoutException as exc:
        elapsed = time.monotonic() - started
        raise DeliveryTimeout(f"timeout after {elapsed:.1f}s ({type(exc).__name__})") from None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        raise ConnectionFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
    finally:
        _deadline.reset(token)
    return Answer(
        status_code=response.status_code,
        body=printable(kept[:limit].decode("utf-8", errors="replace"), limit),
        retry_after=_retry_after(response.headers.get("retry-after")),
        duration_ms=int((time.monotonic() - started) * 1000),
        address=str(address),
    )
