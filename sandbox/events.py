"""Operations on existing documents: cancelamento, CCe, ator interessado, insucesso, e-mail.

Reference: focus-nfe-api-v2.txt NFe "Cancelamento", "Carta de Correção Eletrônica", "Ator
Interessado", "Insucesso na Entrega da NF-e" (+ its cancellation), "Reenvio de e-mail"; NFCe
"Cancelamento"; NFSe and NFSe Nacional "Cancelamento". All synchronous: they answer 200 with the
SEFAZ/prefeitura result in the body, or a 4xx in Focus's error shape. The side endpoints live
in their own modules (inutilizacao.py, importacao.py, lotes_rps.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox import emission, render, rules
from sandbox.clock import add_months
from sandbox.state import Company, Document
from sandbox.wire import FocusError, Request, Response, json_response, missing

if TYPE_CHECKING:
    from sandbox.app import App

NFE_CANCEL_WINDOW = 24 * 3600.0
NFCE_CANCEL_WINDOW = 30 * 60.0
MAX_CCE = 20
MAX_EMAILS = 10
EVENT_OK = {"status_sefaz": "135", "mensagem_sefaz": "Evento registrado e vinculado a NF-e"}


def _company(app: App, doc: Document) -> Company:
    company = app.store.companies.get(doc.company_id)
    if company is None:
        raise FocusError(403, "permissao_negada", "Empresa não encontrada para este token")
    return company


def _body(req: Request) -> dict[str, Any]:
    data = req.json_object()
    # DELETE bodies are unusual; Focus also reads the parameters from the query string.
    return {**req.query, **data}


def _require_authorized(doc: Document, *, nfse: bool = False) -> None:
    if doc.status == "cancelado":
        raise FocusError(
            400, "nfe_cancelada", "Nota Fiscal já cancelada" if nfse else "Nota fiscal já cancelada"
        )
    if doc.status != "autorizado":
        if nfse:
            raise FocusError(
                400, "nfe_nao_autorizada", "Nota fiscal não autorizada não pode ser cancelada"
            )
        raise FocusError(422, "nfe_nao_autorizada", "Nota fiscal não autorizada")


def sefaz_error(app: App, company: Company, text: Any) -> tuple[str, str] | None:
    """A rejection asked for in the free text, or SEFAZ being down."""
    trig = rules.parse_triggers(text)
    if trig.reject_code:
        return trig.reject_code, trig.reject_message or rules.SEFAZ_MESSAGES.get(
            trig.reject_code, f"Rejeicao: codigo {trig.reject_code} (simulado pelo sandbox)"
        )
    if company.uf in app.store.sefaz_down:
        return "108", rules.SEFAZ_MESSAGES["108"]
    return None


def protocol(app: App, company: Company) -> str:
    return emission._protocol(app.store, company, app.store.clock.now())


# -- cancelamento ---------------------------------------------------------------------------


def _mark_cancelled(app: App, doc: Document, company: Company, justificativa: str) -> None:
    doc.cancel = {
        "justificativa": justificativa,
        "at": app.store.clock.now(),
        "status": "cancelado",
        "protocolo": protocol(app, company),
    }
    doc.status = "cancelado"


def cancel(app: App, req: Request, doc_type: str, ref: str) -> Response:
    store = app.store
    with store.lock:
        doc = emission.find_document(app, req.principal, doc_type, ref)
        data = _body(req)
        if doc_type in ("nfse", "nfsen"):
            return _cancel_nfse(app, doc, data)
        _require_authorized(doc)
        justificativa = rules.check_justificativa(data.get("justificativa"), doc_type=doc_type)
        company = _company(app, doc)
        now = store.clock.now()
        window = NFE_CANCEL_WINDOW if doc_type == "nfe" else NFCE_CANCEL_WINDOW
        error = sefaz_error(app, company, justificativa)
        if error is None and now - (doc.authorized_at or doc.created_at) > window:
            error = ("501", rules.SEFAZ_MESSAGES["501"])
        if error:
            return json_response(
                200,
                {
                    "status": "erro_cancelamento",
                    "status_sefaz": error[0],
                    "mensagem_sefaz": error[1],
                },
            )
        _mark_cancelled(app, doc, company, justificativa)
        doc.status_sefaz, doc.mensagem_sefaz = EVENT_OK["status_sefaz"], EVENT_OK["mensagem_sefaz"]
        path = render.nfe_paths(doc, company)["can"]
        emission.register(store, path, "can_xml", doc)
        if doc_type == "nfe":
            emission.notify(app, doc)
        body = {**EVENT_OK, "status": "cancelado", "caminho_xml_cancelamento": path}
        if doc_type == "nfce":
            body["numero_protocolo"] = doc.cancel["protocolo"]
        return json_response(200, body)


def _cancel_nfse(app: App, doc: Document, data: dict[str, Any]) -> Response:
    _require_authorized(doc, nfse=True)
    justificativa = rules.check_justificativa(data.get("justificativa"))
    company = _company(app, doc)
    trig = rules.parse_triggers(justificativa)
    erros = None
    if trig.reject_code:
        code = trig.reject_code
        erros = [
            {
                "codigo": code,
                "mensagem": trig.reject_message
                or rules.NFSE_MESSAGES.get(code, f"Rejeição {code} (simulada pelo sandbox)"),
                "correcao": None,
            }
        ]
    elif company.uf in app.store.sefaz_down:
        erros = [
            {
                "codigo": "E999",
                "mensagem": "Serviço da prefeitura indisponível",
                "correcao": "Tente novamente mais tarde",
            }
        ]
    if erros:
        return json_response(200, {"status": "erro_cancelamento", "erros": erros})
    _mark_cancelled(app, doc, company, justificativa)
    emission.register(app.store, render.nfse_paths(doc, company)["can"], "nfse_can_xml", doc)
    emission.notify(app, doc)
    return json_response(200, {"status": "cancelado"})


# -- carta de correção, ator interessado, insucesso -----------------------------------------


def _event_precheck(app: App, req: Request, ref: str) -> tuple[Document, Company, dict[str, Any]]:
    doc = emission.find_document(app, req.principal, "nfe", ref)
    data = req.json_object()
    _require_authorized(doc)
    return doc, _company(app, doc), data


def _event_error(code: str, mensagem: str) -> Response:
    return json_response(
        200, {"status": "erro_autorizacao", "status_sefaz": code, "mensagem_sefaz": mensagem}
    )


def _event_authorized(
    app: App,
    doc: Document,
    company: Company,
    events: list[dict[str, Any]],
    *,
    numero: int,
    dados: dict[str, Any],
    suffix: str,
    kind: str,
    answer: str,
) -> Response:
    """Record the note's ``numero``-th event of one kind (``events``) as SEFAZ authorizes it,
    file its XML as ``<chave>-<suffix>.xml`` (``kind`` tells files.py how to render it), and
    answer as Focus does: SEFAZ's 135, ``caminho_xml_<answer>`` and ``numero_<answer>``."""
    events.append(
        {
            "numero": numero,
            "dados": dados,
            "at": app.store.clock.now(),
            "protocolo": protocol(app, company),
        }
    )
    path = render.event_path(doc, company, suffix)
    emission.register(app.store, path, kind, doc, n=numero)
    return json_response(
        200,
        {
            **EVENT_OK,
            "status": "autorizado",
            f"caminho_xml_{answer}": path,
            f"numero_{answer}": numero,
        },
    )


def carta_correcao(app: App, req: Request, ref: str) -> Response:
    store = app.store
    with store.lock:
        doc, company, data = _event_precheck(app, req, ref)
        correcao = data.get("correcao")
        if correcao in (None, ""):
            raise missing("correcao")
        if not 15 <= len(str(correcao)) <= 1000:
            raise FocusError(
                400,
                "requisicao_invalida",
                'Parâmetro "correcao" deve ter entre 15 e 1000 caracteres',
            )
        error = sefaz_error(app, company, correcao)
        if error:
            return _event_error(*error)
        if len(doc.cces) >= MAX_CCE:
            # Reference: "até o limite de 20 correções".
            return _event_error(
                "594", "Rejeicao: O numero de sequencia do evento informado e maior que o permitido"
            )
        numero = len(doc.cces) + 1
        doc.cces.append(
            {
                "numero": numero,
                "correcao": str(correcao),
                "at": store.clock.now(),
                "protocolo": protocol(app, company),
            }
        )
        doc.status_sefaz, doc.mensagem_sefaz = EVENT_OK["status_sefaz"], EVENT_OK["mensagem_sefaz"]
        paths = render.cce_paths(doc, company, numero)
        emission.register(store, paths["xml"], "cce_xml", doc, n=numero)
        emission.register(store, paths["pdf"], "cce_pdf", doc, n=numero)
        emission.notify(app, doc)
        return json_response(
            200,
            {
                **EVENT_OK,
                "status": "autorizado",
                "caminho_xml_carta_correcao": paths["xml"],
                "caminho_pdf_carta_correcao": paths["pdf"],
                "numero_carta_correcao": numero,
            },
        )


def ator_interessado(app: App, req: Request, ref: str) -> Response:
    store = app.store
    with store.lock:
        doc, company, data = _event_precheck(app, req, ref)
        if not data.get("cnpj") and not data.get("cpf"):
            raise FocusError(
                400, "requisicao_invalida", "Por favor, informe o CNPJ ou CPF do ator interessado."
            )
        error = sefaz_error(app, company, None)
        if error:
            return _event_error(*error)
        # Reference: "somente pode ser gerado no prazo de 6 meses após a data de autorização".
        if store.clock.now() > add_months(doc.authorized_at or doc.created_at, 6):
            return _event_error(
                "501",
                "Rejeicao: Prazo do evento Ator Interessado expirado (6 meses da autorizacao)",
            )
        numero = len(doc.atores) + 1
        dados = {
            "CNPJ": data.get("cnpj"),
            "CPF": data.get("cpf"),
            "tpAutorizacao": "1"
            if data.get("permite_autorizacao_terceiros") in (True, "true", "1", 1)
            else "0",
        }
        return _event_authorized(
            app, doc, company, doc.atores, numero=numero, dados=dados,
            suffix=f"ato-{numero:02d}", kind="ato_xml", answer="evento_ator_interessado",
        )  # fmt: skip


def insucesso_entrega(app: App, req: Request, ref: str) -> Response:
    store = app.store
    with store.lock:
        doc, company, data = _event_precheck(app, req, ref)
        if not data.get("data_tentativa_entrega"):
            raise FocusError(
                400, "requisicao_invalida", "Por favor, informe a data da tentativa de entrega."
            )
        if data.get("motivo_insucesso") in (None, ""):
            raise FocusError(
                400, "requisicao_invalida", "Por favor, informe o motivo do insucesso na entrega."
            )
        if str(data.get("motivo_insucesso")) == "4" and not data.get("justificativa_insucesso"):
            raise FocusError(
                400,
                "requisicao_invalida",
                "Por favor, informe a justificativa do insucesso na entrega.",
            )
        error = sefaz_error(app, company, data.get("justificativa_insucesso"))
        if error:
            return _event_error(*error)
        numero = len(doc.insucessos) + 1
        keys = (
            "data_tentativa_entrega",
            "numero_tentativas",
            "motivo_insucesso",
            "justificativa_insucesso",
            "latitude_entrega",
            "longitude_entrega",
            "hash_tentativa_entrega",
            "data_hash_tentativa",
        )
        return _event_authorized(
            app, doc, company, doc.insucessos, numero=numero, dados={k: data.get(k) for k in keys},
            suffix="ie" if numero == 1 else f"ie-{numero:02d}", kind="ie_xml",
            answer="insucesso_entrega",
        )  # fmt: skip


def cancelar_insucesso_entrega(app: App, req: Request, ref: str) -> Response:
    store = app.store
    with store.lock:
        doc, company, _data = _event_precheck(app, req, ref)
        if len(doc.insucessos) <= len(doc.insucesso_cancelamentos):
            raise FocusError(
                422, "pending_operation", "Nota não possui evento de insucesso de entrega."
            )
        error = sefaz_error(app, company, None)
        if error:
            return _event_error(*error)
        numero = len(doc.insucesso_cancelamentos) + 1
        return _event_authorized(
            app, doc, company, doc.insucesso_cancelamentos, numero=numero, dados={},
            suffix="ie-can" if numero == 1 else f"ie-can-{numero:02d}", kind="iecan_xml",
            answer="cancelamento_insucesso_entrega",
        )  # fmt: skip


# -- e-mail, hook re-fire -------------------------------------------------------------------


def email(app: App, req: Request, doc_type: str, ref: str) -> Response:
    with app.store.lock:
        doc = emission.find_document(app, req.principal, doc_type, ref)
        emails = req.json_object().get("emails")
        if not emails:
            raise missing("emails")
        if not isinstance(emails, list) or not all(isinstance(e, str) and "@" in e for e in emails):
            raise FocusError(
                400, "requisicao_invalida", 'Parâmetro "emails" deve ser uma lista de e-mails'
            )
        if len(emails) > MAX_EMAILS:
            raise FocusError(
                400, "requisicao_invalida", f"Informe no máximo {MAX_EMAILS} e-mails por requisição"
            )
        app.store.emails.append(
            {
                "doc_type": doc_type,
                "ref": ref,
                "token": doc.token,
                "emails": emails,
                "at": app.store.clock.now(),
            }
        )
        return json_response(200, {"emails": emails})


def refire_hook(app: App, req: Request, doc_type: str, ref: str) -> Response:
    with app.store.lock:
        doc = emission.find_document(app, req.principal, doc_type, ref)
        emission.notify(app, doc)
        return json_response(200, render.consulta(app.store, doc))
