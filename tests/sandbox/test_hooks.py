"""`/v2/hooks` and the delivery of notifications, retried on Focus's schedule."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.sandbox.helpers import (
    ACCOUNT,
    ACME,
    Receiver,
    advance_past_retry,
    nfe_payload,
    nfse_payload,
    nfsen_payload,
    wait_until,
)


def test_create_list_get_delete(acme: httpx.Client, focus: Callable[..., httpx.Client]) -> None:
    r = acme.post(
        "/v2/hooks",
        json={
            "event": "nfe",
            "url": "http://127.0.0.1:9/h",
            "cnpj": ACME,
            "authorization": "segredo",
            "authorization_header": "X-Focus-Secret",
        },
    )
    assert r.status_code == 201
    hook = r.json()
    assert hook == {
        "id": hook["id"],
        "url": "http://127.0.0.1:9/h",
        "event": "nfe",
        "cnpj": ACME,
        "authorization": "segredo",
        "authorization_header": "X-Focus-Secret",
    }
    assert hook["id"].isalnum()
    assert acme.get("/v2/hooks").json() == [hook]
    detail = acme.get(f"/v2/hooks/{hook['id']}").json()
    assert {"request_count", "error_count", "success_count", "count_since"} <= set(detail)
    # Another token sees nothing of it.
    other = focus("normal-hom")
    assert other.get("/v2/hooks").json() == []
    assert other.get(f"/v2/hooks/{hook['id']}").status_code == 404
    deleted = acme.delete(f"/v2/hooks/{hook['id']}").json()
    assert deleted == {**hook, "deleted": True}
    assert acme.get(f"/v2/hooks/{hook['id']}").status_code == 404


def test_validation(acme: httpx.Client) -> None:
    bad_event = acme.post("/v2/hooks", json={"event": "boleto", "url": "http://x/h"})
    assert bad_event.status_code == 400 and "boleto" in bad_event.json()["mensagem"]
    bad_url = acme.post("/v2/hooks", json={"event": "nfe", "url": "ftp:/x"})
    assert bad_url.status_code == 400 and "ftp:/x" in bad_url.json()["mensagem"]
    assert acme.post("/v2/hooks", json={"url": "http://x/h"}).status_code == 400


def test_at_most_five_per_company_and_event(acme: httpx.Client) -> None:
    for i in range(5):
        assert (
            acme.post("/v2/hooks", json={"event": "nfe", "url": f"http://x/{i}"}).status_code == 201
        )
    sixth = acme.post("/v2/hooks", json={"event": "nfe", "url": "http://x/6"})
    assert sixth.status_code == 400 and sixth.json()["codigo"] == "requisicao_invalida"
    assert acme.post("/v2/hooks", json={"event": "nfse", "url": "http://x/6"}).status_code == 201


def test_delivery_with_authorization_header(
    acme: httpx.Client, control: httpx.Client, receiver: Receiver
) -> None:
    acme.post("/v2/hooks", json={"event": "nfe", "url": receiver.url, "authorization": "s3cr3t"})
    acme.post("/v2/nfe", params={"ref": "h1"}, json=nfe_payload())
    [call] = receiver.wait_for(1)
    assert call["headers"]["Authorization"] == "s3cr3t"
    assert call["json"] == acme.get("/v2/nfe/h1").json()
    assert call["json"]["status"] == "autorizado"
    deliveries = wait_until(
        lambda: control.get("/hook-deliveries", params={"ref": "h1"}).json()["deliveries"]
    )
    assert deliveries[0]["delivered"] is True and deliveries[0]["status_code"] == 200


def test_custom_authorization_header_name(acme: httpx.Client, receiver: Receiver) -> None:
    acme.post(
        "/v2/hooks",
        json={
            "event": "nfe",
            "url": receiver.url,
            "authorization": "abc",
            "authorization_header": "X-Token",
        },
    )
    acme.post("/v2/nfe", params={"ref": "h"}, json=nfe_payload())
    assert receiver.wait_for(1)[0]["headers"]["X-Token"] == "abc"


def test_fired_on_cancel_and_cce_and_on_request(acme: httpx.Client, receiver: Receiver) -> None:
    acme.post("/v2/hooks", json={"event": "nfe", "url": receiver.url})
    acme.post("/v2/nfe", params={"ref": "h"}, json=nfe_payload())
    receiver.wait_for(1)
    acme.post("/v2/nfe/h/carta_correcao", json={"correcao": "Correção do endereço"})
    acme.request("DELETE", "/v2/nfe/h", json={"justificativa": "Cancelada por teste aqui"})
    # Each hook goes out on its own thread: the CCe's and the cancel's may arrive either way.
    later = [call["json"] for call in receiver.wait_for(3)[1:3]]
    assert all(body["numero_carta_correcao"] == 1 for body in later)
    assert "cancelado" in [body["status"] for body in later]
    assert acme.post("/v2/nfe/h/hook").status_code == 200
    assert receiver.wait_for(4)[3]["json"]["status"] == "cancelado"


def test_retries_on_the_scaled_schedule(
    acme: httpx.Client, control: httpx.Client, receiver: Receiver
) -> None:
    receiver.fail = 2
    acme.post("/v2/hooks", json={"event": "nfe", "url": receiver.url})
    acme.post("/v2/nfe", params={"ref": "r"}, json=nfe_payload())
    # scale 0.001: 1 min -> 0.06 s, 30 min -> 1.8 s (of the sandbox's clock, moved on for it)
    advance_past_retry(control, attempts=2, seconds=1.8)
    calls = receiver.wait_for(3, timeout=10)
    assert len(calls) == 3
    attempts = wait_until(
        lambda: [d for d in control.get("/hook-deliveries").json()["deliveries"] if d["delivered"]]
    )
    all_attempts = control.get("/hook-deliveries").json()["deliveries"]
    assert [d["attempt"] for d in all_attempts] == [1, 2, 3]
    assert [d["status_code"] for d in all_attempts] == [500, 500, 200]
    assert attempts[0]["attempt"] == 3
    gap = all_attempts[2]["at"] - all_attempts[1]["at"]
    assert 1.5 < gap < 5


def test_gives_up_after_the_schedule(acme: httpx.Client, control: httpx.Client) -> None:
    # 1e-7: the schedule's 29.5 hours pass in about 10 ms; the closed port refuses at once.
    control.post("/config", json={"hook_schedule_scale": 1e-7, "hook_timeout": 0.5})
    acme.post("/v2/hooks", json={"event": "nfe", "url": "http://127.0.0.1:9/closed"})
    acme.post("/v2/nfe", params={"ref": "g"}, json=nfe_payload())
    deliveries = wait_until(
        lambda: [d for d in control.get("/hook-deliveries").json()["deliveries"] if d["gave_up"]]
    )
    assert deliveries[0]["attempt"] == 6
    all_attempts = control.get("/hook-deliveries").json()["deliveries"]
    assert len(all_attempts) == 6 and all(d["error"] for d in all_attempts)


def test_advancing_the_clock_brings_retries_due(
    acme: httpx.Client, control: httpx.Client, receiver: Receiver
) -> None:
    control.post("/config", json={"hook_schedule_scale": 1.0})
    receiver.fail = 1
    acme.post("/v2/hooks", json={"event": "nfe", "url": receiver.url})
    acme.post("/v2/nfe", params={"ref": "c"}, json=nfe_payload())
    receiver.wait_for(1)
    control.post("/clock", json={"advance_seconds": 61})
    assert len(receiver.wait_for(2)) == 2


def test_paused_hooks_drop_or_hold(
    acme: httpx.Client, control: httpx.Client, receiver: Receiver
) -> None:
    acme.post("/v2/hooks", json={"event": "nfe", "url": receiver.url})
    control.post("/hooks/pause", json={"mode": "drop"})
    acme.post("/v2/nfe", params={"ref": "lost"}, json=nfe_payload())
    acme.get("/v2/nfe/lost")
    [dropped] = control.get("/hook-deliveries").json()["deliveries"]
    assert dropped["dropped"] is True
    control.post("/hooks/pause", json={"mode": "hold"})
    acme.post("/v2/nfe", params={"ref": "held"}, json=nfe_payload())
    acme.get("/v2/nfe/held")
    assert control.get("/hook-deliveries").json()["pending"] == 1
    assert receiver.calls == []
    control.post("/hooks/resume")
    assert receiver.wait_for(1)[0]["json"]["ref"] == "held"


def test_account_hook_sees_every_company(
    focus: Callable[..., httpx.Client], receiver: Receiver
) -> None:
    focus(ACCOUNT).post("/v2/hooks", json={"event": "nfe", "url": receiver.url})
    focus("acme-hom").post("/v2/nfe", params={"ref": "a"}, json=nfe_payload())
    assert receiver.wait_for(1)[0]["json"]["cnpj_emitente"] == ACME


def test_company_hook_is_scoped_to_its_token(
    focus: Callable[..., httpx.Client], control: httpx.Client, receiver: Receiver
) -> None:
    # Held, a delivery is queued and never sent: "none queued" is known at once, where "none
    # arrived" would be a wait.
    control.post("/hooks/pause", json={"mode": "hold"})
    focus("acme-prod").post("/v2/hooks", json={"event": "nfe", "url": receiver.url})
    focus("acme-hom").post("/v2/nfe", params={"ref": "a"}, json=nfe_payload())
    focus("acme-hom").get("/v2/nfe/a")  # settled: its hooks are queued by now
    assert control.get("/hook-deliveries").json() == {"deliveries": [], "pending": 0}
    assert receiver.calls == []


def test_nfse_and_nfsen_events(acme: httpx.Client, receiver: Receiver) -> None:
    acme.post("/v2/hooks", json={"event": "nfse", "url": receiver.url})
    acme.post("/v2/hooks", json={"event": "nfsen", "url": receiver.url})
    acme.post("/v2/nfse", params={"ref": "s"}, json=nfse_payload())
    acme.post("/v2/nfsen", params={"ref": "n"}, json=nfsen_payload())
    calls = receiver.wait_for(2)
    by_ref = {c["json"]["ref"]: c["json"] for c in calls}
    assert by_ref["s"]["status"] == "autorizado" and by_ref["s"]["codigo_verificacao"]
    assert "url_danfse" in by_ref["n"]
    assert acme.post("/v2/nfsen/n/hook").status_code == 200


def test_inutilizacao_event(acme: httpx.Client, receiver: Receiver) -> None:
    acme.post("/v2/hooks", json={"event": "inutilizacao", "url": receiver.url})
    acme.post(
        "/v2/nfe/inutilizacao",
        json={
            "cnpj": ACME,
            "serie": "1",
            "numero_inicial": "5",
            "numero_final": "6",
            "justificativa": "Falha na numeração do ERP",
        },
    )
    assert receiver.wait_for(1)[0]["json"]["status_sefaz"] == "102"


def test_hook_metrics_count_the_attempts_of_the_last_two_days(
    acme: httpx.Client, control: httpx.Client, receiver: Receiver
) -> None:
    receiver.fail = 2
    hook = acme.post("/v2/hooks", json={"event": "nfe", "url": receiver.url}).json()
    fresh = acme.get(f"/v2/hooks/{hook['id']}").json()
    assert (fresh["request_count"], fresh["error_count"], fresh["success_count"]) == (0, 0, 0)
    assert fresh["count_since"].endswith("-03:00")  # Brasília time, as Focus writes it
    acme.post("/v2/nfe", params={"ref": "m"}, json=nfe_payload())
    advance_past_retry(control, attempts=2, seconds=1.8)  # the third attempt, 30 min (scaled) on
    wait_until(lambda: [d for d in control.get("/hook-deliveries").json()["deliveries"]
                        if d["delivered"]])
    counted = acme.get(f"/v2/hooks/{hook['id']}").json()
    assert (counted["request_count"], counted["error_count"], counted["success_count"]) == (
        3, 2, 1)
    assert counted["count_since"] == fresh["count_since"]  # the hook is younger than the window

    # Three days later the attempts have left Focus's rolling window.
    control.post("/clock", json={"advance_seconds": 3 * 86400})
    later = acme.get(f"/v2/hooks/{hook['id']}").json()
    assert (later["request_count"], later["error_count"], later["success_count"]) == (0, 0, 0)
    assert later["count_since"] > counted["count_since"]
