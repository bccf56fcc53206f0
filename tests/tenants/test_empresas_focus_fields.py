"""/v2/empresas without a Focus account token: Focus's fields accepted, dry_run writes nothing."""

from __future__ import annotations

import json

from tenants.models import Empresa
from tests.conftest import Actor

CERTIFICATE = "MIIj4gIBAzCCI54GCSqGSIb3DQEHAaCCI48EgiOLMIIjhzCC"  # base64, as Focus's doc shows


def _focus_company(payload: dict) -> dict:
    """The company as a Focus client sends it: the doc's own example fields."""
    return {
        **payload,
        "discrimina_impostos": True,
        "enviar_email_destinatario": True,
        "enviar_email_homologacao": False,
        "habilita_nfsen_producao": False,
        "habilita_nfsen_homologacao": True,
        "csc_nfce_producao": "ABCDEF123456",
        "id_token_nfce_producao": "00001",
        "csc_nfce_homologacao": "HOMOLOG-CSC-9876",
        "id_token_nfce_homologacao": 2,
        "serie_nfe_producao": 1,
        "proximo_numero_nfe_homologacao": 10,
        "orientacao_danfe": "portrait",
        "arquivo_certificado_base64": CERTIFICATE,
        "senha_certificado": "123456",
        "smtp_senha": "smtp-password-secret",
    }


def test_dry_run_validates_and_creates_nothing(actor: Actor, other: Actor,
                                               empresa_payload) -> None:
    body = _focus_company(empresa_payload(token_producao=None))
    response = actor.client.post("/v2/empresas?dry_run=1", body, format="json")
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["id"] is None
    assert answer["cnpj"] == body["cnpj"]
    assert Empresa.objects.count() == 0

    invalid = actor.client.post("/v2/empresas?dry_run=1", {**body, "cnpj": "11222333000182"},
                                format="json")
    assert invalid.status_code == 422
    assert invalid.json()["erros"][0]["campo"] == "cnpj"
    assert Empresa.objects.count() == 0


def test_dry_run_reports_a_duplicate_like_a_real_create(actor: Actor, make_empresa,
                                                        empresa_payload) -> None:
    make_empresa(actor.tenant)
    body = empresa_payload(token_producao=None, token_homologacao="another-token-9999")
    response = actor.client.post("/v2/empresas?dry_run=1", body, format="json")
    assert response.status_code == 409
    assert Empresa.objects.filter(tenant=actor.tenant).count() == 1


def test_dry_run_update_changes_nothing(actor: Actor, make_empresa) -> None:
    empresa = make_empresa(actor.tenant)
    response = actor.client.put(f"/v2/empresas/{empresa.pk}?dry_run=1",
                                {"nome_fantasia": "Ensaio", "recibo_danfe": False},
                                format="json")
    assert response.status_code == 200
    assert response.json()["nome_fantasia"] == "Ensaio"
    empresa.refresh_from_db()
    assert empresa.nome_fantasia == "Padaria"
    assert "recibo_danfe" not in empresa.focus_settings


def test_every_focus_field_is_accepted_and_answered_without_secrets(
        actor: Actor, other: Actor, empresa_payload) -> None:
    body = _focus_company(empresa_payload(token_producao=None))
    created = actor.client.post("/v2/empresas", body, format="json")
    assert created.status_code == 200, created.json()
    answer = created.json()
    assert answer["enviar_email_destinatario"] is True
    assert answer["id_token_nfce_homologacao"] == 2
    assert answer["serie_nfe_producao"] == 1
    assert answer["habilita_nfsen_homologacao"] is True
    assert answer["habilita_nfsen_producao"] is False
    # The CSC is a secret: answered masked, never whole.
    assert answer["csc_nfce_producao"] == "••••3456"
    for secret in ("arquivo_certificado_base64", "senha_certificado", "smtp_senha"):
        assert secret not in answer
    raw = json.dumps(answer)
    for value in (CERTIFICATE, "smtp-password-secret", "ABCDEF123456", "HOMOLOG-CSC-9876"):
        assert value not in raw

    empresa = Empresa.objects.get(pk=answer["id"])
    assert empresa.habilita_nfsen is True  # one of Focus's two NFSe Nacional flags is on
    stored = json.dumps(empresa.focus_settings)
    for value in (CERTIFICATE, "smtp-password-secret", "ABCDEF123456", "123456\""):
        assert value not in stored
    # The native API answers the same fields.
    native = actor.client.get(f"/api/v1/empresas/{empresa.pk}").json()
    assert native["enviar_email_destinatario"] is True
    assert other.client.get(f"/v2/empresas/{empresa.pk}").status_code == 404


def test_a_misspelled_field_is_still_refused(actor: Actor, empresa_payload) -> None:
    response = actor.client.post("/v2/empresas", {**empresa_payload(token_producao=None),
                                                  "habilita_nfee": True}, format="json")
    assert response.status_code == 422
    assert response.json()["erros"][0]["campo"] == "habilita_nfee"
    assert Empresa.objects.count() == 0


def test_the_documented_empresa_wrapper_is_accepted(actor: Actor, empresa_payload) -> None:
    # _empresas.md: "{empresa: {atributo1: valor1, ...}}"; its example is the flat object.
    response = actor.client.post("/v2/empresas",
                                 {"empresa": empresa_payload(token_producao=None)},
                                 format="json")
    assert response.status_code == 200, response.json()
    assert Empresa.objects.get(pk=response.json()["id"]).nome == "Padaria Exemplo Ltda"


def test_a_company_read_and_sent_back_whole_is_accepted(actor: Actor, make_empresa) -> None:
    empresa = make_empresa(actor.tenant, csc_nfce_producao="CSC-ORIGINAL-1234")
    read = actor.client.get(f"/v2/empresas/{empresa.pk}").json()
    # What Focus answers and a client echoes back; our own answer-only columns are not Focus's.
    body = {k: v for k, v in read.items()
            if k not in {"token_homologacao", "token_producao", "focus_empresa_id", "is_active",
                         "disabled_at", "created_at", "updated_at", "habilita_nfsen"}}
    body.update({"nome_fantasia": "De volta", "caminho_logo": None,
                 "data_ultima_emissao": None, "senha_responsavel_preenchida": False})
    response = actor.client.put(f"/v2/empresas/{empresa.pk}", body, format="json")
    assert response.status_code == 200, response.json()
    empresa.refresh_from_db()
    assert empresa.nome_fantasia == "De volta"
    assert empresa.pk == response.json()["id"]
    # The masked CSC it read and sent back did not replace the CSC.
    assert response.json()["csc_nfce_producao"] == "••••1234"
