from __future__ import annotations

import json

from fiscal.render import note_consulta
from tests.conftest import OTHER_CNPJ, VALID_CNPJ, Actor, make_actor
from tests.support.file_links import comparable
from tests.webhooks.conftest import make_note, publish_note, run_due
from webhooks.models import Endpoint


def test_create_list_get_and_delete_a_hook(actor: Actor, other: Actor, empresa,
                                           receiver) -> None:
    created = actor.client.post("/v2/hooks", {
        "cnpj": VALID_CNPJ, "event": "nfe", "url": receiver.url(),
        "authorization": "segredo-do-cliente-123", "authorization_header": "X-ApiKey",
    }, format="json")
    assert created.status_code == 200, created.content
    hook = created.json()
    assert set(hook) == {"id", "url", "authorization", "authorization_header", "event", "cnpj"}
    assert hook["event"] == "nfe" and hook["cnpj"] == VALID_CNPJ
    assert hook["authorization_header"] == "X-ApiKey"
    # Answered as sent at creation, as Focus does; masked afterwards (a secret we keep).
    assert hook["authorization"] == "segredo-do-cliente-123"
    assert hook["id"].isalnum()
    hook = {**hook, "authorization": "••••-123"}
    endpoint = Endpoint.objects.get(public_id=hook["id"])
    assert endpoint.format == "focus" and endpoint.doc_types == ["nfe"]
    assert "note.authorized" in endpoint.event_types and endpoint.empresa == empresa

    assert actor.client.get("/v2/hooks").json() == [hook]
    single = actor.client.get(f"/v2/hooks/{hook['id']}").json()
    # The single-hook consulta adds Focus's delivery metrics (tests/webhooks/test_hook_health.py).
    assert {name: single[name] for name in hook} == hook
    assert single["request_count"] == 0
    assert other.client.get("/v2/hooks").json() == []
    hidden = other.client.get(f"/v2/hooks/{hook['id']}")
    assert hidden.status_code == 404 and hidden.json()["codigo"] == "nao_encontrado"
    assert other.client.delete(f"/v2/hooks/{hook['id']}").status_code == 404

    deleted = actor.client.delete(f"/v2/hooks/{hook['id']}")
    assert deleted.status_code == 200 and deleted.json() == {**hook, "deleted": True}
    assert actor.client.get(f"/v2/hooks/{hook['id']}").status_code == 404
    # The same hook also shows in the native API until deleted.
    assert actor.client.get("/api/v1/webhook-endpoints").json()["results"] == []


def test_a_hook_without_company_fires_for_every_company(actor: Actor, empresa, make_empresa,
                                                        receiver) -> None:
    second = make_empresa(actor.tenant, cnpj=OTHER_CNPJ)
    hook = actor.client.post("/v2/hooks", {"event": "nfe", "url": receiver.url()},
                             format="json").json()
    assert hook["cnpj"] is None
    publish_note(make_note(empresa))
    publish_note(make_note(second))
    publish_note(make_note(empresa, doc_type="nfse"))  # another document type: not this hook
    assert run_due() == ["succeeded", "succeeded"]


def test_a_focus_hook_receives_the_consulta_as_focus_posts_it(actor: Actor, empresa,
                                                              receiver) -> None:
    actor.client.post("/v2/hooks", {"cnpj": VALID_CNPJ, "event": "nfe", "url": receiver.url(),
                                    "authorization": "Basic dXNlcjpwYXNz"}, format="json")
    note = make_note(empresa)
    publish_note(note)
    run_due()
    request = receiver.requests[0]
    assert comparable(json.loads(request.body)) == comparable(note_consulta(note))
    assert request.headers["authorization"] == "Basic dXNlcjpwYXNz"


def test_focus_errors(actor: Actor, empresa, receiver) -> None:
    def post(**data):
        return actor.client.post("/v2/hooks", data, format="json")

    bad_event = post(event="boleto", url=receiver.url())
    assert bad_event.status_code == 400
    assert bad_event.json() == {"codigo": "requisicao_invalida",
                                "mensagem": 'Parâmetro "event" deve ser um evento válido.'}
    unsupported = post(event="cte", url=receiver.url())
    assert unsupported.status_code == 400 and "cte" in unsupported.json()["mensagem"]
    bad_url = post(event="nfe", url="minha url")
    assert bad_url.status_code == 400
    assert bad_url.json()["mensagem"] == "URL inválida: minha url"
    missing = post(event="nfe")
    assert missing.status_code == 400 and missing.json()["codigo"] == "requisicao_invalida"
    unknown_company = post(event="nfe", url=receiver.url(), cnpj=OTHER_CNPJ)
    assert unknown_company.status_code == 400
    assert actor.client.get("/v2/hooks/nope").status_code == 404

    for _ in range(5):
        assert post(event="nfe", url=receiver.url(), cnpj=VALID_CNPJ).status_code == 200
    sixth = post(event="nfe", url=receiver.url(), cnpj=VALID_CNPJ)
    assert sixth.status_code == 400 and "5" in sixth.json()["mensagem"]
    # The limit is per company and event.
    assert post(event="inutilizacao", url=receiver.url(), cnpj=VALID_CNPJ).status_code == 200
    assert Endpoint.objects.count() == 6


def test_hooks_belong_to_the_keys_environment(actor: Actor, receiver) -> None:
    from tenants.services import api_key_create
    from tests.conftest import basic

    live = api_key_create(tenant=actor.tenant, environment="producao")
    hook = actor.client.post("/v2/hooks", {"event": "nfe", "url": receiver.url()},
                             format="json").json()
    actor.client.credentials(HTTP_AUTHORIZATION=basic(live.raw))
    assert actor.client.get("/v2/hooks").json() == []
    assert actor.client.get(f"/v2/hooks/{hook['id']}").status_code == 404


def test_resend_a_notes_hook(actor: Actor, other: Actor, empresa, receiver) -> None:
    hook = actor.client.post("/v2/hooks", {"event": "nfe", "url": receiver.url()},
                             format="json").json()
    note = make_note(empresa, ref="pedido-42")
    publish_note(note)
    assert run_due() == ["succeeded"]

    # Another tenant's key does not find it.
    hidden = other.client.post("/v2/nfe/pedido-42/hook")
    assert hidden.status_code == 404 and hidden.json()["codigo"] == "nao_encontrado"
    assert actor.client.post("/v2/nfse/pedido-42/hook").status_code == 404  # other doc type
    assert actor.client.post("/v2/nfe/no-such-ref/hook").status_code == 404

    response = actor.client.post("/v2/nfe/pedido-42/hook")
    assert response.status_code == 200
    assert response.json() == [hook]
    assert run_due() == ["succeeded"]
    first, again = receiver.requests
    assert comparable(json.loads(again.body)) == comparable(note_consulta(note))
    assert again.headers["webhook-id"] != first.headers["webhook-id"]  # a new delivery


def test_resend_with_no_hooks_answers_an_empty_list(db, make_empresa) -> None:
    lonely = make_actor("No hooks SaaS")
    note = make_note(make_empresa(lonely.tenant), ref="r1")
    response = lonely.client.post(f"/v2/nfe/{note.ref}/hook")
    assert response.status_code == 200 and response.json() == []
