"""Keep-alive pools of the webhook transport: one per tenant host, never shared across hosts."""

from __future__ import annotations

import ipaddress

from webhooks import transport


def _target(host: str, scheme: str = "https") -> transport.Target:
    return transport.Target(scheme=scheme, host=host, port=443, path="/",
                            addresses=(ipaddress.ip_address("93.184.216.34"),))


def test_two_hosts_on_one_address_never_share_a_pool() -> None:
    a, b = _target("a.example.com"), _target("b.example.com")
    assert transport._http(a) is transport._http(a)  # reused across deliveries
    assert transport._http(a) is not transport._http(b)  # same address, other name


def test_a_forked_process_makes_its_own_pools(monkeypatch) -> None:
    a = _target("a.example.com")
    inherited = transport._http(a)
    monkeypatch.setattr(transport.os, "getpid", lambda: -1)
    assert transport._http(a) is not inherited


def test_the_pools_are_bounded(monkeypatch) -> None:
    monkeypatch.setattr(transport, "_MAX_HOSTS", 3)
    first = transport._http(_target("h0.example.com"))
    for n in range(1, 5):
        transport._http(_target(f"h{n}.example.com"))
    assert len(transport._clients) == 3
    assert transport._http(_target("h0.example.com")) is not first
