"""The caminho_* links of the facade's answers are capability URLs: fetched with a plain GET
and no credentials, named as Focus names its files, opening only the file they were signed
for, and a 404 once tampered with or expired."""

from __future__ import annotations

import pytest
from django.core import signing
from rest_framework.test import APIClient

from fiscal.models import Note
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream, drive
from tests.sandbox.helpers import nfce_payload, nfe_payload

pytestmark = pytest.mark.django_db(transaction=True)
JUSTIFICATIVA = "Cancelamento por erro de digitação no pedido"


def fetch(path: str):  # type: ignore[no-untyped-def]
    """What any HTTP client does with a Focus file link: a GET, no credentials."""
    return APIClient().get(path)


def content(response) -> bytes:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, (response.status_code, getattr(response, "content", b""))
    return b"".join(response.streaming_content) if response.streaming else response.content


def authorized_nfe(actor: Actor, upstream: Upstream, ref: str) -> Note:
    assert actor.client.post(f"/v2/nfe?ref={ref}", nfe_payload(VALID_CNPJ),
                             format="json").status_code == 202
    return drive(Note.objects.get(ref=ref), upstream=upstream)


def test_links_open_without_credentials_and_end_as_focus_names_the_files(
        actor: Actor, empresa: Empresa, upstream: Upstream) -> None:
    note = authorized_nfe(actor, upstream, "l-1")
    consulta = actor.client.get("/v2/nfe/l-1").json()
    xml, danfe = consulta["caminho_xml_nota_fiscal"], consulta["caminho_danfe"]
    assert xml.startswith("/v2/arquivos/") and xml.endswith(f"/{note.chave}-nfe.xml")
    assert danfe.endswith(f"/{note.chave}.pdf")
    assert note.chave.encode() in content(fetch(xml))
    assert content(fetch(danfe)).startswith(b"%PDF")

    cce = actor.client.post("/v2/nfe/l-1/carta_correcao",
                            {"correcao": "Correção do endereço do destinatário"},
                            format="json").json()
    assert cce["caminho_xml_carta_correcao"].endswith(f"/{note.chave}-cce-01.xml")
    assert cce["caminho_pdf_carta_correcao"].endswith("/1.pdf")
    assert note.chave.encode() in content(fetch(cce["caminho_xml_carta_correcao"]))
    cancel = actor.client.delete("/v2/nfe/l-1", {"justificativa": JUSTIFICATIVA},
                                 format="json").json()
    assert cancel["caminho_xml_cancelamento"].endswith(f"/{note.chave}-can.xml")
    assert note.chave.encode() in content(fetch(cancel["caminho_xml_cancelamento"]))
    # The older keyed path keeps working with the key.
    keyed = actor.client.get(f"/v2/arquivos/{note.pk}/xml_nota_fiscal")
    assert note.chave.encode() in content(keyed)


def test_the_danfce_link_ends_in_html(actor: Actor, empresa: Empresa, upstream: Upstream) -> None:
    body = actor.client.post("/v2/nfce?ref=l-2", nfce_payload(VALID_CNPJ), format="json").json()
    note = Note.objects.get(ref="l-2")
    assert body["caminho_danfe"].endswith(f"/NFe{note.chave}.html")
    assert body["caminho_xml_nota_fiscal"].endswith(f"/{note.chave}-nfe.xml")
    assert note.chave.encode() in content(fetch(body["caminho_xml_nota_fiscal"]))


def test_a_tampered_or_forged_link_is_not_found(actor: Actor, other: Actor, empresa: Empresa,
                                                upstream: Upstream) -> None:
    note = authorized_nfe(actor, upstream, "l-3")
    link = actor.client.get("/v2/nfe/l-3").json()["caminho_xml_nota_fiscal"]
    token, filename = link.split("/")[-2:]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    forged_payload = [other.tenant.pk, note.pk, "xml_nota_fiscal", None, filename]
    tampered = [
        f"/v2/arquivos/{flipped}/{filename}",  # one character of the signature
        f"/v2/arquivos/{token}/{note.chave}-can.xml",  # another file's name
        f"/v2/arquivos/{token}/{filename}x",
        # Signed by someone without our key, or for another purpose.
        "/v2/arquivos/" + signing.dumps(forged_payload, key="not-our-key",
                                        salt="fiscal.file_links.v1") + f"/{filename}",
        "/v2/arquivos/" + signing.dumps([note.tenant_id, note.pk, "xml_nota_fiscal", None,
                                         filename], salt="other.purpose") + f"/{filename}",
    ]
    for path in tampered:
        response = fetch(path)
        assert response.status_code == 404, path
        assert response.json()["codigo"] == "nao_encontrado"
    # A link names its tenant and note: one signed for the wrong tenant opens nothing.
    wrong_tenant = signing.dumps(forged_payload, salt="fiscal.file_links.v1")
    assert fetch(f"/v2/arquivos/{wrong_tenant}/{filename}").status_code == 404
    # Another tenant's key does not open the keyed path either.
    assert other.client.get(f"/v2/arquivos/{note.pk}/xml_nota_fiscal").status_code == 404
    assert fetch(link).status_code == 200


def test_an_expired_link_is_not_found_and_a_fresh_get_answers_a_fresh_one(
        actor: Actor, empresa: Empresa, upstream: Upstream, settings) -> None:
    authorized_nfe(actor, upstream, "l-4")
    link = actor.client.get("/v2/nfe/l-4").json()["caminho_xml_nota_fiscal"]
    settings.FG_FILE_LINK_MAX_AGE = -1  # every link is older than its lifetime
    assert fetch(link).status_code == 404
    settings.FG_FILE_LINK_MAX_AGE = 7 * 24 * 3600
    fresh = actor.client.get("/v2/nfe/l-4").json()["caminho_xml_nota_fiscal"]
    assert fetch(fresh).status_code == 200
