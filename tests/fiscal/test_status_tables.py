"""Every row of the document's "Status API" tables that the gateway itself can answer, one case
per row, made to happen against the sandbox: the HTTP status and Focus's ``codigo``.

Reference: focus-nfe-api-v2.txt — "Erros" (lines 147-155), NFe "Status API" (547-558), NFCe
(3943-3950), NFSe (6139-6147), NFSe Nacional (7300-7308); and the _webhooks.md and
_empresas.md tables of FocusNFe/api-doc. Rows only Focus or SEFAZ can decide (NFe 555 "Não
existe série", 557 UF, NFCe 3949-3950 CSC/ambiente, the companies' certificate
erro_validacao) reach the tenant as Focus answered them (tests/fiscal/test_emission.py,
tests/tenants/test_focus_provisioning.py). Deliberate differences: a missing or wrong key is
403 permissao_negada on every resource (the general table), also on /v2/empresas whose table
says 401; five hooks per company and event, as SUPPLEMENT.md says of Focus today (the older
hooks table says one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from fiscal.models import Note
from tenants.models import Empresa
from tests.conftest import VALID_CNPJ, Actor
from tests.fiscal.conftest import Upstream, drive
from tests.sandbox.helpers import nfce_payload, nfe_payload, nfse_payload, nfsen_payload

pytestmark = pytest.mark.django_db(transaction=True)

PAYLOADS = {"nfe": nfe_payload, "nfce": nfce_payload, "nfse": nfse_payload,
            "nfsen": nfsen_payload}
JUSTIFICATIVA = "Cancelamento por erro de digitação no pedido"


@dataclass
class World:
    actor: Actor
    empresa: Empresa
    upstream: Upstream
    settings: object

    def post(self, doc_type: str, ref: str | None, payload: dict | None = None, **query: str):
        params = "&".join(f"{k}={v}" for k, v in (({"ref": ref} if ref else {}) | query).items())
        body = PAYLOADS[doc_type](VALID_CNPJ) if payload is None else payload
        return self.actor.client.post(f"/v2/{doc_type}?{params}", body, format="json")

    def note(self, doc_type: str, ref: str, *, settle: bool = True, **payload: object) -> Note:
        response = self.post(doc_type, ref, {**PAYLOADS[doc_type](VALID_CNPJ), **payload})
        assert response.status_code in (201, 202), response.content
        note = Note.objects.get(ref=ref, doc_type=doc_type)
        return drive(note, upstream=self.upstream) if settle else note

    def processing(self, doc_type: str, ref: str) -> Note:
        self.settings.FG_INLINE_SUBMIT = False  # queued: still processando for the tenant
        return self.note(doc_type, ref, settle=False)

    def cancelled(self, doc_type: str, ref: str) -> Note:
        self.note(doc_type, ref)
        assert self.cancel(doc_type, ref).status_code == 200
        return Note.objects.get(ref=ref, doc_type=doc_type)

    def cancel(self, doc_type: str, ref: str, body: dict | None = None):
        body = {"justificativa": JUSTIFICATIVA} if body is None else body
        return self.actor.client.delete(f"/v2/{doc_type}/{ref}", body, format="json")


def _no_cnpj(doc_type: str) -> dict:
    payload = PAYLOADS[doc_type](VALID_CNPJ)
    payload.pop("cnpj_emitente", None)
    return payload


def _disable(w: World, doc_type: str) -> None:
    field = "habilita_nfsen" if doc_type == "nfsen" else f"habilita_{doc_type}"
    Empresa.objects.filter(pk=w.empresa.pk).update(**{field: False})


def _expire(w: World) -> None:
    Empresa.objects.filter(pk=w.empresa.pk).update(
        certificado_valido_ate=timezone.now() - timedelta(days=1))


def _foreign(doc_type: str) -> dict:
    return PAYLOADS[doc_type]("45723174000110")  # a valid CNPJ that is not the tenant's


Case = Callable[[World], object]

# (table row, how the gateway is made to answer it, status, codigo)
ROWS: list[tuple[str, Case, int, str]] = [
    # "Erros" (general) and NFe "Status API".
    ("148/554 nfe requisicao_invalida (ref)", lambda w: w.post("nfe", None), 400,
     "requisicao_invalida"),
    ("148/556 nfe requisicao_invalida (cnpj_emitente)",
     lambda w: w.post("nfe", "t", _no_cnpj("nfe")), 400, "requisicao_invalida"),
    ("149 nfe empresa_nao_habilitada",
     lambda w: (_disable(w, "nfe"), w.post("nfe", "t"))[1], 400, "empresa_nao_habilitada"),
    ("150 nfe nfe_cancelada", lambda w: (w.cancelled("nfe", "t"), w.cancel("nfe", "t"))[1],
     400, "nfe_cancelada"),
    ("151/558 nfe permissao_negada", lambda w: w.post("nfe", "t", _foreign("nfe")), 403,
     "permissao_negada"),
    ("152 nfe nao_encontrado", lambda w: w.actor.client.get("/v2/nfe/nada"), 404,
     "nao_encontrado"),
    ("153/549 nfe nfe_nao_autorizada",
     lambda w: (w.processing("nfe", "t"), w.cancel("nfe", "t"))[1], 422, "nfe_nao_autorizada"),
    ("154 nfe nfe_autorizada", lambda w: (w.note("nfe", "t"), w.post("nfe", "t"))[1], 422,
     "nfe_autorizada"),
    ("155 nfe em_processamento", lambda w: (w.processing("nfe", "t"), w.post("nfe", "t"))[1],
     422, "em_processamento"),
    ("548 nfe erro_validacao_schema",
     lambda w: w.post("nfe", "t", {k: v for k, v in nfe_payload(VALID_CNPJ).items()
                                   if k != "cpf_destinatario"}), 422, "erro_validacao_schema"),
    ("550 nfe nao_encontrado (Utilize o método POST)",
     lambda w: w.actor.client.get("/v2/nfe"), 404, "nao_encontrado"),
    ("550 nfe nao_encontrado (método de uma operação)",
     lambda w: (w.note("nfe", "t"), w.actor.client.get("/v2/nfe/t/carta_correcao"))[1], 404,
     "nao_encontrado"),
    ("551 nfe nao_encontrado (cancelamento)", lambda w: w.cancel("nfe", "nada"), 404,
     "nao_encontrado"),
    ("552 nfe requisicao_invalida (justificativa ausente)",
     lambda w: (w.note("nfe", "t"), w.cancel("nfe", "t", {}))[1], 400, "requisicao_invalida"),
    ("553 nfe requisicao_invalida (justificativa curta)",
     lambda w: (w.note("nfe", "t"), w.cancel("nfe", "t", {"justificativa": "curta"}))[1], 400,
     "requisicao_invalida"),
    ("554 nfe requisicao_invalida (correcao ausente)",
     lambda w: (w.note("nfe", "t"),
                w.actor.client.post("/v2/nfe/t/carta_correcao", {}, format="json"))[1],
     400, "requisicao_invalida"),
    # NFCe "Status API".
    ("3944 nfce nfce_nao_encontrada", lambda w: w.cancel("nfce", "nada"), 404,
     "nfce_nao_encontrada"),
    ("3945 nfce nfce_nao_autorizada",
     lambda w: (w.note("nfce", "t", informacoes_adicionais_contribuinte="SANDBOX:REJEITAR"),
                w.cancel("nfce", "t"))[1], 404, "nfce_nao_autorizada"),
    ("3946 nfce justificativa_nao_informada",
     lambda w: (w.note("nfce", "t"), w.cancel("nfce", "t", {}))[1], 400,
     "justificativa_nao_informada"),
    ("3947 nfce forma_emissao_nao_informada",
     lambda w: w.post("nfce", "t", forma_emissao="manual"), 400, "forma_emissao_nao_informada"),
    ("3948 nfce ref_ausente", lambda w: w.post("nfce", None), 400, "ref_ausente"),
]

# The tables of FocusNFe/api-doc that the .txt predates: NFe's certificate row, hooks
# (_webhooks.md) and companies (_empresas.md).
ROWS += [
    ("_nfe.md nfe certificado_vencido", lambda w: (_expire(w), w.post("nfe", "t"))[1], 400,
     "certificado_vencido"),
    ("_webhooks.md nao_encontrado", lambda w: w.actor.client.get("/v2/hooks/nada"), 404,
     "nao_encontrado"),
    ("_webhooks.md requisicao_invalida (event)",
     lambda w: w.actor.client.post("/v2/hooks", {"event": "boleto", "url": "http://minha.url/"},
                                   format="json"), 400, "requisicao_invalida"),
    ("_webhooks.md requisicao_invalida (URL inválida)",
     lambda w: w.actor.client.post("/v2/hooks", {"event": "nfe", "url": "http://10.0.0.1/"},
                                   format="json"), 400, "requisicao_invalida"),
    ("_empresas.md nao_encontrado", lambda w: w.actor.client.get("/v2/empresas/424242"), 404,
     "nao_encontrado"),
    ("_empresas.md parametros_invalidos",
     lambda w: w.actor.client.post("/v2/empresas", data="{não é json",
                                   content_type="application/json"), 400,
     "parametros_invalidos"),
]

# NFSe (6140-6147) and NFSe Nacional (7301-7308): the same table for both.
for _doc in ("nfse", "nfsen"):
    _line = {"nfse": 6140, "nfsen": 7301}[_doc]
    ROWS += [
        (f"{_line} {_doc} nao_encontrado",
         lambda w, d=_doc: w.actor.client.get(f"/v2/{d}/nada"), 404, "nao_encontrado"),
        (f"{_line + 1} {_doc} nfe_cancelada",
         lambda w, d=_doc: (w.cancelled(d, "t"), w.cancel(d, "t"))[1], 400, "nfe_cancelada"),
        (f"{_line + 2} {_doc} nfe_nao_autorizada",
         lambda w, d=_doc: (w.processing(d, "t"), w.cancel(d, "t"))[1], 400,
         "nfe_nao_autorizada"),
        (f"{_line + 3} {_doc} requisicao_invalida",
         lambda w, d=_doc: w.post(d, None), 400, "requisicao_invalida"),
        (f"{_line + 4} {_doc} empresa_nao_habilitada",
         lambda w, d=_doc: (_disable(w, d), w.post(d, "t"))[1], 400, "empresa_nao_habilitada"),
        (f"{_line + 5} {_doc} certificado_vencido",
         lambda w, d=_doc: (_expire(w), w.post(d, "t"))[1], 400, "certificado_vencido"),
        (f"{_line + 6} {_doc} nfe_autorizada",
         lambda w, d=_doc: (w.note(d, "t"), w.post(d, "t"))[1], 422, "nfe_autorizada"),
        (f"{_line + 7} {_doc} em_processamento",
         lambda w, d=_doc: (w.processing(d, "t"), w.post(d, "t"))[1], 422, "em_processamento"),
    ]


@pytest.mark.parametrize(("row", "case", "status_code", "codigo"), ROWS,
                         ids=[row[0] for row in ROWS])
def test_each_documented_status_row(actor: Actor, other: Actor, empresa: Empresa,
                                    upstream: Upstream, settings, row: str, case: Case,
                                    status_code: int, codigo: str) -> None:
    response = case(World(actor=actor, empresa=empresa, upstream=upstream, settings=settings))
    assert response.status_code == status_code, (row, response.content)
    body = response.json()
    assert body["codigo"] == codigo, (row, body)
    assert isinstance(body["mensagem"], str) and body["mensagem"]
    # The second tenant sees none of it.
    assert other.client.get("/v2/nfe/t").status_code == 404
