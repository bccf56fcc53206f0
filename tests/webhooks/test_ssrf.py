from __future__ import annotations

import ipaddress

import httpx
import pytest

from tests.conftest import Actor
from tests.webhooks.conftest import create_endpoint, make_note, publish_note, run_due
from webhooks import transport
from webhooks.models import Attempt, Endpoint

FAKE_DNS = {
    "evil.example.com": ["10.0.0.5"],
    "metadata.example.com": ["169.254.169.254"],
    # One public and one private answer: refused as a whole (rebinding picks its moment).
    "rebind.example.com": ["93.184.216.34", "127.0.0.1"],
    "mapped.example.com": ["::ffff:192.168.0.1"],
    "hook.example.com": ["127.0.0.1"],
    "public.example.com": ["93.184.216.34"],
}


@pytest.fixture
def fake_dns(monkeypatch):
    def resolve(host: str, port: int):
        if host == "localhost":
            return [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
        if host not in FAKE_DNS:
            raise transport.ConnectionFailed(f"cannot resolve {host}")
        return [ipaddress.ip_address(a) for a in FAKE_DNS[host]]

    monkeypatch.setattr(transport, "resolve", resolve)
    return FAKE_DNS


@pytest.fixture
def no_connections(monkeypatch):
    """Fails the test if anything tries to open a connection."""
    def refuse(*_):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(transport, "_http", refuse)


# Names that resolve (FAKE_DNS) to addresses we never call: accepted at registration (a name
# is not resolved then), refused at every delivery.
HOSTILE_NAMES = [
    "http://evil.example.com/hook",
    "http://metadata.example.com/hook",
    "http://rebind.example.com/hook",
    "http://mapped.example.com/hook",
]


def hostile_literals(port: int) -> list[str]:
    """Refused as written, with no resolution: literal addresses, localhost, bad schemes."""
    return [url for url in hostile_urls(port) if url not in HOSTILE_NAMES]


def hostile_urls(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/hook",
        f"http://localhost:{port}/hook",
        f"http://2130706433:{port}/hook",  # decimal 127.0.0.1
        f"http://0x7f000001:{port}/hook",  # hex
        f"http://0177.0.0.1:{port}/hook",  # octal
        f"http://127.1:{port}/hook",  # shortened
        f"http://[::1]:{port}/hook",
        f"http://[::ffff:127.0.0.1]:{port}/hook",  # IPv4-mapped IPv6
        f"http://[::ffff:7f00:1]:{port}/hook",
        f"http://0.0.0.0:{port}/hook",
        "http://10.0.0.1/hook",
        "http://172.16.5.4/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/hook",  # CGNAT
        "http://[fd00::1]/hook",
        "http://[fe80::1]/hook",
        "http://224.0.0.1/hook",
        "http://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "http://[2002:a00:1::]/hook",  # 6to4 of 10.0.0.1
        "http://evil.example.com/hook",
        "http://metadata.example.com/hook",
        "http://rebind.example.com/hook",
        "http://mapped.example.com/hook",
        "http://user:password@public.example.com/hook",
        "ftp://public.example.com/hook",
        "file:///etc/passwd",
    ]


def test_hostile_urls_are_refused_by_the_guard(settings, fake_dns, receiver) -> None:
    settings.FG_WEBHOOKS_ALLOW_LOOPBACK = False
    for url in hostile_urls(receiver.port):
        with pytest.raises(transport.UnsafeURL):
            transport.check_url(url)
    # A public address passes (checking never connects).
    assert str(transport.check_url("http://public.example.com/x").addresses[0]) == (
        "93.184.216.34"
    )


def test_hostile_urls_are_refused_at_registration_with_no_connection(
    actor: Actor, other: Actor, settings, fake_dns, no_connections, receiver
) -> None:
    settings.FG_WEBHOOKS_ALLOW_LOOPBACK = False
    for url in hostile_literals(receiver.port):
        native = actor.client.post("/api/v1/webhook-endpoints", {"url": url}, format="json")
        assert native.status_code == 400, (url, native.content)
        assert native.json()["code"] in {"invalid_url", "validation_error"}
        focus = actor.client.post("/v2/hooks", {"event": "nfe", "url": url}, format="json")
        assert focus.status_code == 400, (url, focus.content)
        assert focus.json()["codigo"] == "requisicao_invalida"
        assert "URL inválida" in focus.json()["mensagem"]
    assert not Endpoint.objects.exists()
    assert receiver.requests == []


def test_https_only_when_required(actor: Actor, settings, fake_dns) -> None:
    settings.FG_WEBHOOKS_REQUIRE_HTTPS = True
    response = actor.client.post("/api/v1/webhook-endpoints",
                                 {"url": "http://public.example.com/h"}, format="json")
    assert response.status_code == 400
    assert "https" in response.json()["message"]
    ok = actor.client.post("/api/v1/webhook-endpoints",
                           {"url": "https://public.example.com/h"}, format="json")
    assert ok.status_code == 201


def test_every_delivery_rechecks_and_connects_to_the_checked_address(
    actor: Actor, empresa, settings, fake_dns, receiver
) -> None:
    endpoint, _ = create_endpoint(actor, f"http://hook.example.com:{receiver.port}/in")
    publish_note(make_note(empresa))
    assert run_due() == ["succeeded"]
    # Connected to the address we checked, with the name in the Host header.
    assert receiver.requests[0].headers["host"] == f"hook.example.com:{receiver.port}"
    assert Attempt.objects.get().address == "127.0.0.1"

    # The name now resolves somewhere private: refused at delivery, nothing sent.
    fake_dns["hook.example.com"] = ["10.1.2.3"]
    publish_note(make_note(empresa))
    assert run_due() == ["retry"]
    attempt = Attempt.objects.latest("id")
    assert attempt.status_code is None and "private" in attempt.error
    assert len(receiver.requests) == 1

    # Loopback is a development allowance only.
    fake_dns["hook.example.com"] = ["127.0.0.1"]
    settings.FG_WEBHOOKS_ALLOW_LOOPBACK = False
    with pytest.raises(transport.UnsafeURL, match="loopback"):
        transport.check_url(endpoint.url)


def test_https_keeps_the_name_for_sni_and_the_host_header(monkeypatch, fake_dns) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=b"ok")

    client = httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=False)
    monkeypatch.setattr(transport, "_http", lambda target: client)
    answer = transport.post("https://public.example.com/path?q=1", body=b"{}", headers={})
    request = sent[0]
    assert str(request.url) == "https://93.184.216.34/path?q=1"
    assert request.headers["host"] == "public.example.com"
    assert request.extensions["sni_hostname"] == "public.example.com"
    assert answer.status_code == 200 and answer.address == "93.184.216.34"


def test_a_name_is_accepted_at_registration_and_checked_at_each_delivery(
    actor: Actor, other: Actor, empresa, settings, fake_dns, receiver
) -> None:
    settings.FG_WEBHOOKS_ALLOW_LOOPBACK = False
    # Focus's own example: a name that resolves nowhere right now is a valid hook URL.
    example = actor.client.post("/v2/hooks", {"event": "nfe", "url": "http://minha.url/nfe"},
                                format="json")
    assert example.status_code == 200, example.content
    assert example.json()["url"] == "http://minha.url/nfe"
    for url in HOSTILE_NAMES:
        created = actor.client.post("/v2/hooks", {"event": "nfe", "url": url}, format="json")
        assert created.status_code == 200, (url, created.content)
    assert other.client.get("/v2/hooks").json() == []
    # Badly spelled names are still refused as Focus refuses them.
    for url in ("http://minha url/nfe", "http://-x-.example.com/", "http://a..b/"):
        refused = actor.client.post("/v2/hooks", {"event": "nfe", "url": url}, format="json")
        assert refused.status_code == 400 and refused.json()["mensagem"] == f"URL inválida: {url}"

    publish_note(make_note(empresa))
    outcomes = run_due()
    # Every delivery resolved its name and was refused before connecting.
    assert outcomes and all(outcome == "retry" for outcome in outcomes)
    errors = [a.error for a in Attempt.objects.order_by("id")]
    assert any("cannot resolve minha.url" in e for e in errors)
    assert any("private" in e for e in errors) and any("metadata" in e for e in errors)
    assert all(a.status_code is None for a in Attempt.objects.all())
    assert receiver.requests == []
