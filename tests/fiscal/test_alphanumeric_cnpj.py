"""Alphanumeric CNPJ end to end (IN RFB 2.229/2024, in production since July 2026): a company
with one is created, emits, is queried, cancels, is archived, serves its files and filters the
native note list, through the gateway and the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fiscal.models import Note, NoteStatus
from storage.archiving import archive_run_due
from storage.models import Artifact
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream, drive, sandbox_company
from tests.sandbox.helpers import nfe_payload

ALFA = "12ABC34501DE35"  # the Receita's own example
ALFA_TOKENS = {"token_homologacao": "alfa-focus-hom-token", "token_producao": "alfa-focus-prod"}
JUSTIFICATIVA = "Pedido cancelado pelo cliente antes da entrega"


def mod11(base: str, weights: range | list[int]) -> int:
    """Written out here rather than imported: each character is worth ord(c) - 48."""
    total = sum((ord(c) - 48) * w for c, w in zip(base, weights, strict=True))
    return 0 if total % 11 < 2 else 11 - total % 11


def chave_digit(base43: str) -> int:
    # Weights 2..9 from the right, cycling: the MOC's chave de acesso check digit.
    weights = [2 + (i % 8) for i in range(43)][::-1]
    return mod11(base43, weights)


@pytest.fixture
def alfa(actor: Actor, empresa_payload: Callable[..., dict], upstream: Upstream) -> Empresa:
    upstream.server.add_companies([sandbox_company(ALFA, uf="RS", **ALFA_TOKENS)])
    # Created through the native API, typed as people write it: dots, slash, lower case.
    created = actor.client.post("/api/v1/empresas", empresa_payload(
        cnpj="12.abc.345/01de-35", uf="RS", codigo_municipio="4314902",
        municipio="Porto Alegre", token_homologacao=ALFA_TOKENS["token_homologacao"],
        token_producao=None,  # a test key sets only its own environment's token
    ), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["cnpj"] == ALFA
    # Found by its CNPJ as typed, on the native API and on Focus's /v2/empresas.
    for path in ("/api/v1/empresas", "/v2/empresas"):
        found = actor.client.get(path, {"cnpj": "12.abc.345/01de-35"}).json()
        rows = found["results"] if isinstance(found, dict) else found
        assert [row["cnpj"] for row in rows] == [ALFA], (path, found)
    return Empresa.objects.get(pk=created.json()["id"])


def test_a_wrong_alphanumeric_check_digit_is_refused(actor: Actor,
                                                     empresa_payload: Callable[..., dict]) -> None:
    refused = actor.client.post("/api/v1/empresas", empresa_payload(cnpj="12ABC34501DE36"),
                                format="json")
    assert refused.status_code == 400 and "cnpj" in refused.json()["fields"]
    assert not Empresa.objects.filter(cnpj="12ABC34501DE36").exists()


def test_emit_query_cancel_archive_download_and_filter(
    actor: Actor, other: Actor, empresa: Empresa, alfa: Empresa, upstream: Upstream
) -> None:
    # Emit and settle.
    emitted = actor.client.post("/v2/nfe?ref=alfa-1", nfe_payload(ALFA, uf_emitente="RS"),
                                format="json")
    assert emitted.status_code == 202, emitted.content
    assert emitted.json()["cnpj_emitente"] == ALFA
    note = drive(Note.objects.get(ref="alfa-1"), upstream=upstream)
    assert note.status == NoteStatus.AUTORIZADO and note.empresa == alfa

    # The chave carries the CNPJ's letters; its check digit is over ord(c) - 48.
    chave = note.chave
    assert len(chave) == 44 and not chave.isdigit()
    assert chave[:2] == "43" and chave[6:20] == ALFA  # RS, then the CNPJ
    assert chave[-1] == str(chave_digit(chave[:43]))
    assert ALFA[12:] == f"{mod11(ALFA[:12], [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])}" + str(
        mod11(ALFA[:13], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]))

    # Query.
    consulta = actor.client.get("/v2/nfe/alfa-1").json()
    assert consulta["status"] == "autorizado" and consulta["chave_nfe"] == f"NFe{chave}"
    assert consulta["cnpj_emitente"] == ALFA

    # Download: the XML names the company and the chave.
    xml = actor.client.get(consulta["caminho_xml_nota_fiscal"])
    assert xml.status_code == 200, xml.content
    xml_body = b"".join(xml.streaming_content) if xml.streaming else xml.content
    assert f"<CNPJ>{ALFA}</CNPJ>".encode() in xml_body and f"NFe{chave}".encode() in xml_body
    danfe = actor.client.get(consulta["caminho_danfe"])
    assert danfe.status_code == 200
    assert (b"".join(danfe.streaming_content) if danfe.streaming else danfe.content)[:5] == b"%PDF-"

    # Cancel.
    cancelled = actor.client.delete("/v2/nfe/alfa-1", {"justificativa": JUSTIFICATIVA},
                                    format="json")
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelado"
    note.refresh_from_db()
    assert note.status == NoteStatus.CANCELADO
    can = actor.client.get(cancelled.json()["caminho_xml_cancelamento"])
    assert can.status_code == 200
    assert chave.encode() in (b"".join(can.streaming_content) if can.streaming else can.content)

    # Archive: every file under the company's CNPJ and the chave, letters kept.
    archive_run_due()
    artifacts = Artifact.objects.filter(note=note, state="archived")
    assert {a.field for a in artifacts} >= {"xml_nota_fiscal", "danfe", "xml_cancelamento"}
    assert all(f"/{ALFA}/homologacao/nfe/" in a.key and f"/{chave}/" in a.key
               for a in artifacts)

    # The native list filters by the CNPJ (as typed, too) and by the alphanumeric chave.
    assert actor.client.post("/v2/nfe?ref=num-1", nfe_payload(VALID_CNPJ),
                             format="json").status_code == 202
    for cnpj in (ALFA, "12.abc.345/01de-35"):
        listed = actor.client.get("/api/v1/notes", {"cnpj": cnpj})
        assert listed.status_code == 200, listed.content
        rows = listed.json()["results"]
        assert [(r["ref"], r["empresa_cnpj"]) for r in rows] == [("alfa-1", ALFA)]
    by_chave = actor.client.get("/api/v1/notes", {"chave": f"NFe{chave}"}).json()["results"]
    assert [r["ref"] for r in by_chave] == ["alfa-1"]
    numeric = actor.client.get("/api/v1/notes", {"cnpj": VALID_CNPJ}).json()["results"]
    assert [r["ref"] for r in numeric] == ["num-1"]
    bad = actor.client.get("/api/v1/notes", {"cnpj": "12ABC34501DE36"})
    assert bad.status_code == 400 and "cnpj" in bad.json()["fields"]
    # Another tenant sees none of it.
    assert other.client.get("/api/v1/notes", {"cnpj": ALFA}).json()["results"] == []
    assert other.client.get("/v2/nfe/alfa-1").status_code == 404
    # The link is the credential (test_file_links.py); another key on the keyed path is a 404.
    assert other.client.get(f"/v2/arquivos/{note.pk}/xml_nota_fiscal").status_code == 404
