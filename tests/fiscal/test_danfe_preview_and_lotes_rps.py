"""DANFe preview and lotes RPS through the facade, against the sandbox over HTTP: stateless
calls whose answers (and Focus's refusals) pass through as Focus gave them."""

from __future__ import annotations

import json

import pytest

from core.errors import Conflict
from fiscal.models import Note
from tenants.models import Empresa
from tests.conftest import OTHER_CNPJ, VALID_CNPJ, Actor
from tests.fiscal.conftest import HOMOLOG_TOKEN, Upstream, sandbox_company
from tests.sandbox.helpers import ACME, nfe_payload, nfse_payload

# --- DANFe preview -------------------------------------------------------------------------------

def test_danfe_preview_from_json_and_from_xml_is_a_pdf(
    actor: Actor, empresa: Empresa, upstream: Upstream, nfe_xml: bytes
) -> None:
    from_json = actor.client.post("/v2/nfe/danfe", nfe_payload(VALID_CNPJ), format="json")
    assert from_json.status_code == 200, from_json.content
    assert from_json["Content-Type"] == "application/pdf"
    assert from_json.content.startswith(b"%PDF")
    from_xml = actor.client.post("/v2/nfe/danfe", nfe_xml, content_type="text/xml")
    assert from_xml.status_code == 200 and from_xml.content.startswith(b"%PDF")
    assert not Note.objects.exists()  # stateless


def test_danfe_preview_checks_company_and_input(
    actor: Actor, other: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    denied = other.client.post("/v2/nfe/danfe", nfe_payload(VALID_CNPJ), format="json")
    assert denied.status_code == 403 and denied.json()["codigo"] == "permissao_negada"
    broken = actor.client.post("/v2/nfe/danfe", b"{nope", content_type="application/json")
    assert broken.status_code == 415
    payload = nfe_payload(VALID_CNPJ)
    del payload["natureza_operacao"]
    missing = actor.client.post("/v2/nfe/danfe", payload, format="json")
    assert missing.status_code == 400 and "natureza_operacao" in missing.json()["mensagem"]


def test_danfe_preview_refused_by_focus_is_passed_on(actor: Actor, make_empresa,
                                                    upstream: Upstream) -> None:
    # Our company, but the Focus token belongs to another CNPJ: Focus itself refuses.
    make_empresa(actor.tenant, cnpj=OTHER_CNPJ, token_homologacao=HOMOLOG_TOKEN)
    response = actor.client.post("/v2/nfe/danfe", nfe_payload(OTHER_CNPJ), format="json")
    assert response.status_code == 403, response.content
    assert response.json() == {"codigo": "permissao_negada",
                               "mensagem": "CNPJ do emitente não autorizado."}


def test_danfe_preview_timeout_is_503(actor: Actor, empresa: Empresa, upstream: Upstream,
                                      settings) -> None:
    settings.FG_OPERATION_INLINE_TIMEOUT = 0.5
    upstream.fault("hang", count=1, methods=["POST"], path_prefix="/v2/nfe/danfe",
                   hang_seconds=3)
    response = actor.client.post("/v2/nfe/danfe", nfe_payload(VALID_CNPJ), format="json")
    assert response.status_code == 503
    assert response.json()["codigo"] == "servico_indisponivel"


# --- lotes RPS -----------------------------------------------------------------------------------

def lote(cnpj: str = VALID_CNPJ) -> dict:
    nfse = nfse_payload(cnpj)
    return {"prestador": nfse.pop("prestador"), "lista_nfse": [nfse, dict(nfse)]}


def test_lote_rps_is_generated_read_back_and_answered(
    actor: Actor, other: Actor, empresa: Empresa, make_empresa, upstream: Upstream
) -> None:
    created = actor.client.post("/v2/lotes_rps?ref=l-1", lote(), format="json")
    assert created.status_code == 201, created.content
    assert created["Content-Type"].startswith("text/plain")
    assert created.content.startswith(b"LOTE|")
    assert created.content.count(b"RPS|") == 2

    read = actor.client.get("/v2/lotes_rps/l-1")
    assert read.status_code == 200 and read.content == created.content
    assert actor.client.get("/v2/lotes_rps/nope").status_code == 404

    # Another tenant cannot register the same company with the same Focus token (a token
    # belongs to one tenant); with its own token, known to Focus, it cannot reach the lote.
    with pytest.raises(Conflict):
        make_empresa(other.tenant, habilita_nfse=True, token_homologacao=HOMOLOG_TOKEN)
    theirs = make_empresa(other.tenant, habilita_nfse=True)
    upstream.server.add_companies([sandbox_company(
        cnpj=ACME, token_homologacao=theirs.token_homologacao,
        token_producao=theirs.token_producao)])
    hidden = other.client.get("/v2/lotes_rps/l-1")
    assert hidden.status_code == 404 and hidden.json()["codigo"] == "nao_encontrado"

    resposta = actor.client.post("/v2/lotes_rps/l-1/resposta", b"retorno da prefeitura",
                                 content_type="text/plain")
    assert resposta.status_code == 201, resposta.content
    results = json.loads(resposta.content)
    assert [r["status"] for r in results] == ["autorizado", "autorizado"]


def test_lote_rps_checks_ref_company_and_fields(
    actor: Actor, other: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    assert actor.client.post("/v2/lotes_rps", lote(), format="json").status_code == 400
    incomplete = actor.client.post("/v2/lotes_rps?ref=l-2", {"prestador": {"cnpj": VALID_CNPJ}},
                                   format="json")
    assert incomplete.status_code == 422
    denied = other.client.post("/v2/lotes_rps?ref=l-3", lote(), format="json")
    assert denied.status_code == 403 and denied.json()["codigo"] == "permissao_negada"
    # Focus's own validation passes through: the prestador needs its inscrição municipal
    body = lote()
    del body["prestador"]["inscricao_municipal"]
    refused = actor.client.post("/v2/lotes_rps?ref=l-4", body, format="json")
    assert refused.status_code == 422
    assert "inscricao_municipal" in refused.json()["mensagem"]
