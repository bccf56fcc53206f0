"""Companies provisioned at Focus with the tenant's account token, against the sandbox."""

from __future__ import annotations

import base64
import json
import logging

import httpx
from django.db import connection

from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.tenants.conftest import Account

CERTIFICATE = base64.b64encode(b"a PKCS#12 file, as far as the sandbox can tell").decode()


def _company(**overrides: object) -> dict:
    data: dict = {
        "cnpj": VALID_CNPJ, "nome": "Padaria Exemplo Ltda", "nome_fantasia": "Padaria",
        "uf": "SP", "codigo_municipio": "3550308", "municipio": "São Paulo",
        "regime_tributario": 1, "habilita_nfe": True, "habilita_nfsen_homologacao": True,
        "enviar_email_destinatario": True,
        "arquivo_certificado_base64": CERTIFICATE, "senha_certificado": "segredo-1234",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _row_text(empresa_id: int) -> str:
    """Every column of the company's row as the database holds it (ciphertext included)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(e)::text FROM tenants_empresa e WHERE id = %s",
                       [empresa_id])
        return cursor.fetchone()[0]


def test_create_provisions_at_focus_and_keeps_its_tokens(reseller: Actor, other: Actor,
                                                         account: Account, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    response = reseller.client.post("/v2/empresas", _company(), format="json")
    assert response.status_code == 200, response.json()
    answer = response.json()

    [at_focus] = account.companies(VALID_CNPJ)
    assert at_focus["enviar_email_destinatario"] is True
    assert at_focus["habilita_nfsen_homologacao"] is True
    empresa = Empresa.objects.get(pk=answer["id"])
    assert empresa.focus_empresa_id == at_focus["id"]
    assert empresa.token_producao == at_focus["token_producao"]
    assert empresa.token_homologacao == at_focus["token_homologacao"]
    assert empresa.certificado_valido_ate is not None
    assert answer["certificado_valido_ate"] is not None
    assert answer["certificado_cnpj"] == VALID_CNPJ
    # Answered masked; the certificate and its password nowhere: answer, row, logs.
    assert at_focus["token_producao"] not in json.dumps(answer)
    for secret in (CERTIFICATE, "segredo-1234"):
        assert secret not in json.dumps(answer)
        assert secret not in _row_text(empresa.pk)
        assert secret not in caplog.text
    assert other.client.get(f"/v2/empresas/{empresa.pk}").status_code == 404


def test_native_api_creates_changes_and_reads_at_focus(reseller: Actor,
                                                       account: Account) -> None:
    created = reseller.client.post("/api/v1/empresas", _company(), format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    focus_id = Empresa.objects.get(pk=pk).focus_empresa_id

    changed = reseller.client.patch(f"/api/v1/empresas/{pk}",
                                    {"nome_fantasia": "Padaria Nova", "recibo_danfe": False},
                                    format="json")
    assert changed.status_code == 200, changed.json()
    [at_focus] = account.companies(VALID_CNPJ)
    assert at_focus["nome_fantasia"] == "Padaria Nova"
    assert at_focus["recibo_danfe"] is False

    # Focus renews the certificate (someone else installed it): the next read learns it.
    account.control.post("/clock", json={"advance_seconds": 86400 * 30})
    direct = account.server.url + f"/v2/empresas/{focus_id}"
    renewed = httpx.put(direct, auth=("sandbox-account-token", ""),
                        json={"arquivo_certificado_base64": CERTIFICATE,
                              "senha_certificado": "outra"}).json()
    before = Empresa.objects.get(pk=pk).certificado_valido_ate
    read = reseller.client.get(f"/api/v1/empresas/{pk}")
    assert read.status_code == 200
    after = Empresa.objects.get(pk=pk).certificado_valido_ate
    assert after > before
    assert read.json()["certificado_valido_ate"].startswith(renewed["certificado_valido_ate"][:10])


def test_without_an_account_token_the_company_stays_local(actor: Actor,
                                                          account: Account) -> None:
    response = actor.client.post("/v2/empresas", _company(), format="json")
    assert response.status_code == 200
    assert account.companies() == []
    assert Empresa.objects.get(pk=response.json()["id"]).focus_empresa_id == ""


def test_focus_refuses_the_certificate_in_focus_words(reseller: Actor,
                                                      account: Account) -> None:
    wrong = reseller.client.post("/v2/empresas",
                                 _company(senha_certificado="SANDBOX:SENHA_ERRADA"),
                                 format="json")
    assert wrong.status_code == 422
    body = wrong.json()
    assert body["codigo"] == "erro_validacao"
    assert body["erros"][0]["campo"] == "arquivo_certificado_base64"
    assert "verifique se a senha" in body["erros"][0]["mensagem"]

    broken = reseller.client.post("/api/v1/empresas",
                                  _company(arquivo_certificado_base64="não é base64!"),
                                  format="json")
    assert broken.status_code == 422
    assert broken.json()["code"] == "erro_validacao"
    assert "arquivo_certificado_base64" in broken.json()["fields"]
    assert Empresa.objects.count() == 0
    assert account.companies() == []


def test_dry_run_asks_focus_and_creates_nowhere(reseller: Actor, account: Account) -> None:
    ok = reseller.client.post("/v2/empresas?dry_run=1", _company(), format="json")
    assert ok.status_code == 200, ok.json()
    assert ok.json()["id"] is None
    assert ok.json()["certificado_valido_ate"] is not None  # Focus looked at the certificate
    expired = reseller.client.post("/v2/empresas?dry_run=1",
                                   _company(senha_certificado="SANDBOX:VENCIDO"), format="json")
    assert expired.status_code == 422
    assert "vencido" in expired.json()["erros"][0]["mensagem"]
    assert Empresa.objects.count() == 0
    assert account.companies() == []


def test_timeout_mid_create_reads_by_cnpj_and_adopts_focus_company(
        reseller: Actor, account: Account) -> None:
    # Focus creates the company, then the answer never comes.
    account.fault("accept_then_hang", methods=["POST"], path_prefix="/v2/empresas", count=1)
    response = reseller.client.post("/v2/empresas", _company(), format="json")
    assert response.status_code == 200, response.json()
    [at_focus] = account.companies(VALID_CNPJ)  # one company at Focus, not two
    empresa = Empresa.objects.get()
    assert empresa.focus_empresa_id == at_focus["id"]
    assert empresa.token_homologacao == at_focus["token_homologacao"]


def test_timeout_before_focus_created_it_posts_once_more(reseller: Actor,
                                                         account: Account) -> None:
    # The POST never reached Focus's processing: the read finds nothing, one more POST.
    account.fault("hang", methods=["POST"], path_prefix="/v2/empresas", count=1)
    response = reseller.client.post("/v2/empresas", _company(), format="json")
    assert response.status_code == 200, response.json()
    assert len(account.companies(VALID_CNPJ)) == 1
    assert Empresa.objects.get().focus_empresa_id == account.companies()[0]["id"]


def test_timeout_then_failed_read_writes_nothing_and_the_retry_reads_first(
        reseller: Actor, account: Account) -> None:
    account.fault("accept_then_hang", methods=["POST"], path_prefix="/v2/empresas", count=1)
    account.fault("hang", methods=["GET"], path_prefix="/v2/empresas", count=1)
    first = reseller.client.post("/v2/empresas", _company(), format="json")
    assert first.status_code == 503
    assert first.json()["codigo"] == "servico_indisponivel"
    assert Empresa.objects.count() == 0  # never a half-created local row
    assert len(account.companies(VALID_CNPJ)) == 1  # Focus did create it

    # The tenant retries: the gateway reads by CNPJ before any POST and adopts it.
    again = reseller.client.post("/v2/empresas", _company(), format="json")
    assert again.status_code == 200, again.json()
    assert len(account.companies(VALID_CNPJ)) == 1
    assert Empresa.objects.get().focus_empresa_id == account.companies()[0]["id"]


def test_focus_429_answers_429_and_writes_nothing(reseller: Actor, account: Account) -> None:
    account.fault("429", methods=["POST"], path_prefix="/v2/empresas", count=1)
    facade = reseller.client.post("/v2/empresas", _company(), format="json")
    assert facade.status_code == 429
    assert facade.json()["codigo"] == "limite_requisicoes"
    assert int(facade["Retry-After"]) >= 1
    assert facade["Rate-Limit-Remaining"] == "0"
    assert facade["Rate-Limit-Reset"] == facade["Retry-After"]
    assert Empresa.objects.count() == 0
    assert account.companies() == []

    # The budget learned Focus's wait: the native API refuses without calling Focus again.
    native = reseller.client.post("/api/v1/empresas", _company(), format="json")
    assert native.status_code == 429
    assert native.json()["code"] == "rate_limited"
    assert native["Retry-After"]
    assert Empresa.objects.count() == 0
    assert account.companies() == []


def test_a_refused_or_timed_out_update_changes_nothing_here(reseller: Actor,
                                                            account: Account) -> None:
    pk = reseller.client.post("/v2/empresas", _company(), format="json").json()["id"]
    refused = reseller.client.put(f"/v2/empresas/{pk}", {
        "nome_fantasia": "Nunca", "arquivo_certificado_base64": CERTIFICATE,
        "senha_certificado": "SANDBOX:OUTRO_CNPJ"}, format="json")
    assert refused.status_code == 422
    assert "não pertence ao CNPJ" in refused.json()["erros"][0]["mensagem"]

    account.fault("hang", methods=["PUT"], path_prefix="/v2/empresas", count=1)
    timed_out = reseller.client.put(f"/v2/empresas/{pk}", {"nome_fantasia": "Talvez"},
                                    format="json")
    assert timed_out.status_code == 503
    assert Empresa.objects.get(pk=pk).nome_fantasia == "Padaria"
    assert account.companies(VALID_CNPJ)[0]["nome_fantasia"] == "Padaria"


def test_a_read_answers_the_local_copy_when_focus_is_down(reseller: Actor,
                                                          account: Account) -> None:
    pk = reseller.client.post("/v2/empresas", _company(), format="json").json()["id"]
    account.fault("hang", methods=["GET"], path_prefix="/v2/empresas", count=1)
    read = reseller.client.get(f"/v2/empresas/{pk}")
    assert read.status_code == 200
    assert read.json()["nome"] == "Padaria Exemplo Ltda"


def test_a_company_body_in_a_log_line_loses_its_secrets() -> None:
    from core.logging import redact

    line = redact(json.dumps(_company(csc_nfce_producao="CSC-SECRET-1")))
    for secret in (CERTIFICATE, "segredo-1234", "CSC-SECRET-1"):
        assert secret not in line
    assert "Padaria Exemplo Ltda" in line
