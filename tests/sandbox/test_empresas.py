"""`/v2/empresas` with the account (reseller) token."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx

from tests.sandbox.helpers import ACCOUNT, ACME, nfe_payload

NEW_CNPJ = "99887766000105"


def _new(**extra: object) -> dict:
    return {
        "nome": "Nova Empresa Ltda",
        "nome_fantasia": "Nova",
        "cnpj": NEW_CNPJ,
        "uf": "RJ",
        "regime_tributario": 1,
        "habilita_nfe": True,
        **extra,
    }


def test_create_gives_tokens_that_emit_in_each_environment(
    focus: Callable[..., httpx.Client],
) -> None:
    account = focus(ACCOUNT)
    r = account.post("/v2/empresas", json=_new())
    assert r.status_code == 200
    company = r.json()
    assert company["id"] and company["cnpj"] == NEW_CNPJ
    assert company["token_homologacao"] != company["token_producao"]
    hom = focus(company["token_homologacao"])
    assert hom.post("/v2/nfe", params={"ref": "1"}, json=nfe_payload(NEW_CNPJ)).status_code == 202
    prod = focus(company["token_producao"])
    prod.post("/v2/nfe", params={"ref": "1"}, json=nfe_payload(NEW_CNPJ, nome_destinatario="C"))
    assert prod.get("/v2/nfe/1").json()["caminho_xml_nota_fiscal"].startswith("/arquivos/")
    assert (
        hom.get("/v2/nfe/1").json()["caminho_xml_nota_fiscal"].startswith("/arquivos_development/")
    )


def test_list_pages_and_total_count(focus: Callable[..., httpx.Client]) -> None:
    account = focus(ACCOUNT)
    r = account.get("/v2/empresas")
    assert r.status_code == 200
    assert r.headers["X-Total-Count"] == "6"
    assert "token_producao" not in r.json()[0]
    only = account.get("/v2/empresas", params={"cnpj": ACME}).json()
    assert [c["cnpj"] for c in only] == [ACME]
    assert account.get("/v2/empresas", params={"offset": 5}).json()[0]["cpf"] == "12345678909"


def test_get_update_delete(focus: Callable[..., httpx.Client]) -> None:
    account = focus(ACCOUNT)
    company = account.post("/v2/empresas", json=_new()).json()
    got = account.get(f"/v2/empresas/{company['id']}").json()
    assert got["token_producao"] == company["token_producao"]
    assert got["token_homologacao"] == company["token_homologacao"]
    updated = account.put(f"/v2/empresas/{company['id']}", json={"nome_fantasia": "Outra"})
    assert updated.status_code == 200
    assert updated.json()["nome_fantasia"] == "Outra" and updated.json()["nome"] == company["nome"]
    assert account.delete(f"/v2/empresas/{company['id']}").json()["deleted"] is True
    assert account.get(f"/v2/empresas/{company['id']}").status_code == 404
    gone = focus(company["token_homologacao"]).get("/v2/nfe/x")
    assert gone.status_code == 403


def test_dry_run_validates_without_creating(focus: Callable[..., httpx.Client]) -> None:
    account = focus(ACCOUNT)
    r = account.post("/v2/empresas", params={"dry_run": 1}, json=_new())
    assert r.status_code == 200 and "token_producao" not in r.json()
    assert account.get("/v2/empresas").headers["X-Total-Count"] == "6"
    bad = account.post("/v2/empresas", params={"dry_run": 1}, json=_new(cnpj="11111111111111"))
    assert bad.status_code == 422


def test_validation_errors(focus: Callable[..., httpx.Client]) -> None:
    account = focus(ACCOUNT)
    r = account.post("/v2/empresas", json={"cnpj": "12345678000100"})
    assert r.status_code == 422
    body = r.json()
    assert body["codigo"] == "erro_validacao"
    assert {e["campo"] for e in body["erros"]} == {"nome", "cnpj"}
    assert all(set(e) == {"codigo", "mensagem", "campo"} for e in body["erros"])
    duplicate = account.post("/v2/empresas", json=_new(cnpj=ACME))
    assert duplicate.json()["erros"][0]["codigo"] == "ja_cadastrado"


def test_malformed_json_is_400_parametros_invalidos(focus: Callable[..., httpx.Client]) -> None:
    r = focus(ACCOUNT).post("/v2/empresas", content=b"{nope")
    assert r.status_code == 400 and r.json()["codigo"] == "parametros_invalidos"


def test_certificate_fields(focus: Callable[..., httpx.Client]) -> None:
    account = focus(ACCOUNT)
    cert = base64.b64encode(b"fake pkcs12").decode()
    r = account.post(
        "/v2/empresas", json=_new(arquivo_certificado_base64=cert, senha_certificado="1234")
    )
    body = r.json()
    assert body["certificado_cnpj"] == NEW_CNPJ
    assert body["certificado_valido_de"] < body["certificado_valido_ate"]
    assert "senha_certificado" not in body and "arquivo_certificado_base64" not in body
    wrong = account.put(
        f"/v2/empresas/{body['id']}",
        json={"arquivo_certificado_base64": cert, "senha_certificado": "SANDBOX:SENHA_ERRADA"},
    )
    assert wrong.status_code == 422
    erro = wrong.json()["erros"][0]
    assert erro["campo"] == "arquivo_certificado_base64"
    assert erro["codigo"] == "erro_validacao"
    assert "verifique se a senha" in erro["mensagem"]


def test_alphanumeric_cnpj_is_accepted(focus: Callable[..., httpx.Client]) -> None:
    account = focus(ACCOUNT)
    r = account.post("/v2/empresas", json=_new(cnpj="12.ABC.345/0001-XX"))
    assert r.status_code == 422
    # The Receita's example is already loaded; delete it and create it again through the API.
    alfa = account.get("/v2/empresas", params={"cnpj": "12ABC34501DE35"}).json()[0]
    account.delete(f"/v2/empresas/{alfa['id']}")
    created = account.post("/v2/empresas", json=_new(cnpj="12.ABC.345/01DE-35"))
    assert created.status_code == 200 and created.json()["cnpj"] == "12ABC34501DE35"


def test_company_token_cannot_manage_companies(acme: httpx.Client) -> None:
    r = acme.get("/v2/empresas")
    assert r.status_code == 403 and r.json()["codigo"] == "permissao_negada"


def test_account_token_cannot_emit(focus: Callable[..., httpx.Client]) -> None:
    r = focus(ACCOUNT).post("/v2/nfe", params={"ref": "x"}, json=nfe_payload())
    assert r.status_code == 403


def test_custom_account_token() -> None:
    from sandbox.server import SandboxServer

    with SandboxServer(account_token="revenda-123") as srv:
        r = httpx.get(f"{srv.url}/v2/empresas", auth=("revenda-123", ""))
        assert r.status_code == 200
        assert httpx.get(f"{srv.url}/v2/empresas", auth=(ACCOUNT, "")).status_code == 403
