"""Tax reform fields (IBS/CBS, notas de crédito/débito) through the gateway: kept as sent,
passed to Focus (the sandbox over HTTP), and SEFAZ's verdict on them shown as Focus shows it."""

from __future__ import annotations

import copy

from fiscal.models import Note, NoteStatus
from storage.archiving import archive_run_due
from storage.models import Artifact
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream, drive
from tests.sandbox.helpers import nfce_payload, reform_payload, taxed_item


def _credit_note() -> dict:
    # A nota de crédito (finalidade 5) is an entrada with its type; items taxed at 2026's rates.
    return reform_payload(cnpj=VALID_CNPJ, finalidade_emissao=5, tipo_documento=0,
                          tipo_nota_credito="01")


def test_reform_fields_are_kept_and_written_into_the_authorized_xml(
    actor: Actor, other: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    sent = _credit_note()
    response = actor.client.post("/v2/nfe?ref=credito-1", sent, format="json")
    assert response.status_code == 202, response.content
    note = Note.objects.get(ref="credito-1")
    assert note.payload == sent  # kept exactly as received, nothing stripped

    note = drive(note, upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO, (note.status_sefaz, note.mensagem_sefaz)
    consulta = actor.client.get("/v2/nfe/credito-1").json()
    assert consulta["status"] == "autorizado"

    # The XML SEFAZ authorized, through our path: fetched from Focus, archived, served.
    xml = actor.client.get(consulta["caminho_xml_nota_fiscal"])
    assert xml.status_code == 200, xml.content
    body = b"".join(xml.streaming_content) if xml.streaming else xml.content
    for fragment in (b"<finNFe>5</finNFe><tpNFCredito>01</tpNFCredito>",
                     b"<CST>000</CST><cClassTrib>000001</cClassTrib>",
                     b"<gCBS><pCBS>0.9000</pCBS><vCBS>9.00</vCBS></gCBS>",
                     b"<IBSCBSTot><vBCIBSCBS>1250.00</vBCIBSCBS>"):
        assert fragment in body, fragment
    archive_run_due()
    assert Artifact.objects.filter(note=note, field="xml_nota_fiscal").exists()
    # The link is the credential (test_file_links.py); another key on the keyed path is a 404.
    assert other.client.get(f"/v2/arquivos/{note.pk}/xml_nota_fiscal").status_code == 404


def test_incoherent_values_end_in_erro_autorizacao_with_sefaz_code_and_can_be_fixed(
    actor: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    wrong = reform_payload(taxed_item(1, 1000.00, cbs_valor=8.00), cnpj=VALID_CNPJ,
                           cbs_valor_total=9.00)
    assert actor.client.post("/v2/nfe?ref=rt-1", wrong, format="json").status_code == 202
    note = drive(Note.objects.get(ref="rt-1"), upstream=upstream)
    assert note.status == NoteStatus.ERRO_AUTORIZACAO
    assert note.status_sefaz == "1069"
    consulta = actor.client.get("/v2/nfe/rt-1").json()
    assert consulta["status"] == "erro_autorizacao" and consulta["status_sefaz"] == "1069"
    assert consulta["mensagem_sefaz"] == "Rejeicao: Valor da CBS difere do calculado [nItem: 1]"

    fixed = copy.deepcopy(wrong)
    fixed["items"][0]["cbs_valor"] = 9.00
    assert actor.client.post("/v2/nfe?ref=rt-1", fixed, format="json").status_code == 202
    note = drive(Note.objects.get(ref="rt-1"), upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO
    assert note.payload["items"][0]["cbs_valor"] == 9.00


def test_a_debit_note_without_its_type_is_refused_by_sefaz_not_by_the_gateway(
    actor: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    payload = reform_payload(cnpj=VALID_CNPJ, finalidade_emissao=6)
    # The gateway's first validation is Focus's: it does not judge the reform's rules.
    assert actor.client.post("/v2/nfe?ref=deb-1", payload, format="json").status_code == 202
    note = drive(Note.objects.get(ref="deb-1"), upstream=upstream)
    assert (note.status, note.status_sefaz) == (NoteStatus.ERRO_AUTORIZACAO, "1009")


def test_an_nfce_answers_sefaz_verdict_on_its_reform_fields_inline(
    actor: Actor, empresa: Empresa, upstream: Upstream
) -> None:
    reform = {"ibs_cbs_situacao_tributaria": "000", "ibs_cbs_classificacao_tributaria": "000001",
              "ibs_cbs_base_calculo": "79.00", "ibs_uf_aliquota": "0.10", "ibs_uf_valor": "0.08",
              "cbs_aliquota": "0.90", "cbs_valor": "0.71"}  # municipal IBS omitted: 0 % in 2026
    good = nfce_payload(VALID_CNPJ)
    good["items"][0].update(reform)
    answer = actor.client.post("/v2/nfce?ref=cupom-rt", good, format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["status"] == "autorizado"
    assert Note.objects.get(ref="cupom-rt").payload["items"][0]["cbs_valor"] == "0.71"

    bad = copy.deepcopy(good)
    bad["items"][0]["ibs_uf_valor"] = "0.50"
    refused = actor.client.post("/v2/nfce?ref=cupom-rt-2", bad, format="json")
    body = refused.json()
    assert body["status"] == "erro_autorizacao", body
    assert body["status_sefaz"] == "1041"
    assert body["mensagem_sefaz"] == "Rejeicao: Valor do IBS da UF difere do calculado [nItem: 1]"
    assert Note.objects.get(ref="cupom-rt-2").status == NoteStatus.ERRO_AUTORIZACAO
