"""Operations on existing documents and the synchronous side endpoints.

Reference: focus-nfe-api-v2.txt NFe "Cancelamento", "Carta de Correção Eletrônica", "Ator
Interessado", "Insucesso na Entrega da NF-e" (+ its cancellation), "Reenvio de e-mail",
"Inutilização", "Importação", "Pré-visualização de DANFe"; NFCe "Cancelamento"; NFSe and NFSe
Nacional "Cancelamento"; "NFSe por Arquivo" (lotes_rps). All synchronous: they answer 200 with the
SEFAZ/prefeitura result in the body, or a 4xx in Focus's error shape.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from sandbox import emission, render, rules
from sandbox.chave import UF_CODES, chave_is_valid, only_id_chars
from sandbox.clock import aaaamm, add_months, iso, year
from sandbox.files import make_pdf
from sandbox.state import MODELO, PRODUCAO, Company, Document, new_id
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


def _sefaz_error(app: App, company: Company, text: Any) -> tuple[str, str] | None:
    """A rejection asked for in the free text, or SEFAZ being down."""
    trig = rules.parse_triggers(text)
    if trig.reject_code:
        return trig.reject_code, trig.reject_message or rules.SEFAZ_MESSAGES.get(
            trig.reject_code, f"Rejeicao: codigo {trig.reject_code} (simulado pelo sandbox)"
        )
    if company.uf in app.store.sefaz_down:
        return "108", rules.SEFAZ_MESSAGES["108"]
    return None


def _protocol(app: App, company: Company) -> str:
    return emission._protocol(app.store, company, app.store.clock.now())


# -- cancelamento ---------------------------------------------------------------------------


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
        error = _sefaz_error(app, company, justificativa)
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
        doc.cancel = {
            "justificativa": justificativa,
            "at": now,
            "status": "cancelado",
            "protocolo": _protocol(app, company),
        }
        doc.status = "cancelado"
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
    now = app.store.clock.now()
    doc.cancel = {
        "justificativa": justificativa,
        "at": now,
        "status": "cancelado",
        "protocolo": _protocol(app, company),
    }
    doc.status = "cancelado"
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
        error = _sefaz_error(app, company, correcao)
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
                "protocolo": _protocol(app, company),
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
        error = _sefaz_error(app, company, None)
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
        doc.atores.append(
            {
                "numero": numero,
                "dados": dados,
                "at": store.clock.now(),
                "protocolo": _protocol(app, company),
            }
        )
        path = render.event_path(doc, company, f"ato-{numero:02d}")
        emission.register(store, path, "ato_xml", doc, n=numero)
        return json_response(
            200,
            {
                **EVENT_OK,
                "status": "autorizado",
                "caminho_xml_evento_ator_interessado": path,
                "numero_evento_ator_interessado": numero,
            },
        )


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
        error = _sefaz_error(app, company, data.get("justificativa_insucesso"))
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
        doc.insucessos.append(
            {
                "numero": numero,
                "dados": {k: data.get(k) for k in keys},
                "at": store.clock.now(),
                "protocolo": _protocol(app, company),
            }
        )
        suffix = "ie" if numero == 1 else f"ie-{numero:02d}"
        path = render.event_path(doc, company, suffix)
        emission.register(store, path, "ie_xml", doc, n=numero)
        return json_response(
            200,
            {
                **EVENT_OK,
                "status": "autorizado",
                "caminho_xml_insucesso_entrega": path,
                "numero_insucesso_entrega": numero,
            },
        )


def cancelar_insucesso_entrega(app: App, req: Request, ref: str) -> Response:
    store = app.store
    with store.lock:
        doc, company, _data = _event_precheck(app, req, ref)
        if len(doc.insucessos) <= len(doc.insucesso_cancelamentos):
            raise FocusError(
                422, "pending_operation", "Nota não possui evento de insucesso de entrega."
            )
        error = _sefaz_error(app, company, None)
        if error:
            return _event_error(*error)
        numero = len(doc.insucesso_cancelamentos) + 1
        doc.insucesso_cancelamentos.append(
            {
                "numero": numero,
                "dados": {},
                "at": store.clock.now(),
                "protocolo": _protocol(app, company),
            }
        )
        suffix = "ie-can" if numero == 1 else f"ie-can-{numero:02d}"
        path = render.event_path(doc, company, suffix)
        emission.register(store, path, "iecan_xml", doc, n=numero)
        return json_response(
            200,
            {
                **EVENT_OK,
                "status": "autorizado",
                "caminho_xml_cancelamento_insucesso_entrega": path,
                "numero_cancelamento_insucesso_entrega": numero,
            },
        )


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


# -- inutilização ---------------------------------------------------------------------------


def inutilizacao(app: App, req: Request, doc_type: str) -> Response:
    store = app.store
    company, env = emission.company_for(app, req.principal)
    data = req.json_object()
    for name in ("cnpj", "serie", "numero_inicial", "numero_final", "justificativa"):
        if data.get(name) in (None, ""):
            raise missing(name)
    justificativa = rules.check_justificativa(data["justificativa"])
    if only_id_chars(data["cnpj"]) != company.document:
        raise FocusError(403, "permissao_negada", "CNPJ do emitente não autorizado.")
    if not company.enabled(doc_type, env):
        raise FocusError(
            400,
            "empresa_nao_habilitada",
            "Emitente ainda não habilitado para emissão deste documento",
        )
    try:
        serie = int(data["serie"])
        inicio, fim = int(data["numero_inicial"]), int(data["numero_final"])
    except (TypeError, ValueError) as exc:
        raise FocusError(
            400, "requisicao_invalida", "Não existe série com os critérios informados"
        ) from exc
    if not 0 <= serie <= 999 or inicio < 1 or fim < inicio or fim > 999_999_999:
        raise FocusError(400, "requisicao_invalida", "Não existe série com os critérios informados")
    modelo = MODELO[doc_type]
    with store.lock:
        base = {"serie": str(serie), "numero_inicial": str(inicio), "numero_final": str(fim)}
        key = store.series_key(company, env, modelo, serie)
        error = _sefaz_error(app, company, justificativa)
        if error is None and any(inicio <= n <= fim for n in store.used_numbers.get(key, ())):
            error = ("241", "Um numero da faixa ja foi utilizado")
        if error is None and any(
            i["series_key"] == key
            and i["status"] == "autorizado"
            and i["inicio"] <= fim
            and inicio <= i["fim"]
            for i in store.inutilizacoes
        ):
            error = ("256", "Uma NF-e da faixa ja esta inutilizada na Base de dados da SEFAZ")
        if error:
            return json_response(
                200,
                {
                    "status_sefaz": error[0],
                    "mensagem_sefaz": error[1],
                    **base,
                    "status": "erro_autorizacao",
                },
            )
        now = store.clock.now()
        xml_id = (
            f"{year(now) % 100:02d}{company.document.rjust(14, '0')}{modelo}"
            f"{serie:03d}{inicio:09d}{fim:09d}"
        )
        month = aaaamm(now)
        path = f"{render.arquivos(env)}/{company.document}/{month}/XMLs/{xml_id}-inu.xml"
        inu = {
            "id": new_id(12),
            "series_key": key,
            "inicio": inicio,
            "fim": fim,
            "status": "autorizado",
            "status_sefaz": "102",
            "mensagem_sefaz": "Inutilizacao de numero homologado",
            "protocolo": _protocol(app, company),
            "xml_id": xml_id,
            "cnpj": company.document,
            "modelo": modelo,
            "serie": serie,
            "justificativa": justificativa,
            "tp_amb": "1" if env == PRODUCAO else "2",
            "cuf": UF_CODES.get(company.uf, "35"),
            "ano": f"{year(now) % 100:02d}",
            "token": req.principal.token,  # type: ignore[union-attr]
            "path": path,
            "at": now,
        }
        store.inutilizacoes.append(inu)
        store.files[path] = {"kind": "inu_xml", "inu": inu["id"]}
        body = {
            "status_sefaz": "102",
            "mensagem_sefaz": inu["mensagem_sefaz"],
            **base,
            "modelo": modelo,
            "cnpj": company.document,
            "status": "autorizado",
            "caminho_xml": path,
            "protocolo_sefaz": inu["protocolo"],
        }
        app.hooks.notify(
            doc_token=inu["token"],
            company=company,
            event="inutilizacao",
            payload=body,
            ref=None,
            doc_type=doc_type,
        )
        return json_response(200, body)


# -- importação e DANFe de preview ----------------------------------------------------------

_XML_ERROR = FocusError(
    422,
    "erro_validacao_xml",
    "O XML não pode ser interpretado, verifique seu conteúdo e tente novamente",
)


def _parse_nfe_xml(raw: bytes) -> dict[str, Any]:
    try:
        # The XML comes from the sandbox's own client on loopback; expat does not resolve
        # external entities, and Python's expat caps entity expansion.
        root = ET.fromstring(raw)  # noqa: S314
    except ET.ParseError as exc:
        raise _XML_ERROR from exc

    def find(tag: str) -> ET.Element | None:
        return next((el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == tag), None)

    def text(parent: ET.Element | None, tag: str) -> str | None:
        if parent is None:
            return None
        el = next((c for c in parent.iter() if c.tag.rsplit("}", 1)[-1] == tag), None)
        return el.text.strip() if el is not None and el.text else None

    inf = find("infNFe")
    if inf is None:
        raise _XML_ERROR
    chave = re.sub(r"^NFe", "", inf.get("Id", ""))
    if not chave_is_valid(chave):
        raise _XML_ERROR
    emit = find("emit")
    ide = find("ide")
    prot = find("infProt")
    return {
        "chave": chave,
        "emitente": text(emit, "CNPJ") or text(emit, "CPF") or "",
        "numero": int(text(ide, "nNF") or chave[25:34]),
        "serie": int(text(ide, "serie") or chave[22:25]),
        "protocolo": text(prot, "nProt"),
        "status_sefaz": text(prot, "cStat") or "100",
        "mensagem_sefaz": text(prot, "xMotivo") or rules.SEFAZ_MESSAGES["100"],
    }


def importacao(app: App, req: Request) -> Response:
    store = app.store
    company, env = emission.company_for(app, req.principal)
    parsed = _parse_nfe_xml(req.body)
    if only_id_chars(parsed["emitente"]) != company.document:
        raise FocusError(403, "permissao_negada", "CNPJ do emitente não autorizado.")
    if not company.enabled("nfe", env):
        raise FocusError(
            400, "empresa_nao_habilitada", "Emitente ainda não habilitado para emissão de NFe"
        )
    ref = rules.check_ref(req.query.get("ref") or f"NFe{parsed['chave']}", doc_type="nfe")
    with store.lock:
        key = (req.principal.token, "nfe", ref)  # type: ignore[union-attr]
        emission.check_ref_free(store, key)
        now = store.clock.now()
        doc = Document(
            token=key[0],
            env=env,
            doc_type="nfe",
            ref=ref,
            company_id=company.id,
            payload={},
            status="autorizado",
            created_at=now,
            numero=parsed["numero"],
            serie=parsed["serie"],
            chave=parsed["chave"],
            tp_emis=parsed["chave"][34],
            protocolo=parsed["protocolo"],
            authorized_at=now,
            status_sefaz=parsed["status_sefaz"],
            mensagem_sefaz=parsed["mensagem_sefaz"],
            outcome={
                "kind": "autorizar",
                "status_sefaz": parsed["status_sefaz"],
                "mensagem_sefaz": parsed["mensagem_sefaz"],
            },
            imported_xml=req.body.decode("utf-8", errors="replace"),
        )
        store.documents[key] = doc
        # An imported note was issued elsewhere: its number is taken, but it does not count as
        # a document this sandbox created.
        store.take_number(company, env, "55", doc.serie or 1, doc.numero or 0)
        paths = render.nfe_paths(doc, company)
        emission.register(store, paths["xml"], "nfe_xml", doc)
        emission.register(store, paths["danfe"], "danfe_pdf", doc)
        return json_response(201, render.consulta(store, doc))


def danfe_preview(app: App, req: Request) -> Response:
    company, _env = emission.company_for(app, req.principal)
    text = req.body.lstrip()
    if text.startswith(b"<"):
        parsed = _parse_nfe_xml(req.body)
        lines = [
            "DANFE - PRE-VISUALIZACAO - SEM VALOR FISCAL",
            f"Chave de acesso: {parsed['chave']}",
            f"Numero: {parsed['numero']}   Serie: {parsed['serie']}",
        ]
    else:
        payload = req.json_object()
        rules.validate_nfe(payload, doc_type="nfe")
        emission.check_emitter("nfe", payload, company, _env)
        lines = [
            "DANFE - PRE-VISUALIZACAO - SEM VALOR FISCAL",
            f"Emitente: {payload.get('nome_emitente', '')} - {company.document}",
            f"Destinatario: {payload.get('nome_destinatario', '')}",
            f"Natureza da operacao: {payload.get('natureza_operacao', '')}",
            "Itens:",
        ]
        for index, item in enumerate(rules.items_of(payload), start=1):
            lines.append(f"  {index}. {item.get('descricao', '')} {item.get('valor_bruto', '')}")
    return Response(status=200, body=make_pdf(lines), content_type="application/pdf")


# -- lotes RPS ------------------------------------------------------------------------------


def lote_rps_create(app: App, req: Request) -> Response:
    store = app.store
    company, env = emission.company_for(app, req.principal)
    ref = rules.check_ref(req.query.get("ref"), doc_type="nfse")
    data = req.json_object()
    prestador = data.get("prestador")
    lista = data.get("lista_nfse")
    if not isinstance(prestador, dict) or not isinstance(lista, list) or not lista:
        raise FocusError(
            422, "requisicao_invalida", 'Campos "prestador" e "lista_nfse" são obrigatórios'
        )
    for name in ("cnpj", "codigo_municipio", "inscricao_municipal"):
        if not prestador.get(name):
            raise FocusError(
                422, "requisicao_invalida", f'Parâmetro "prestador.{name}" não informado'
            )
    if only_id_chars(prestador["cnpj"]) != company.document:
        raise FocusError(400, "permissao_negada", "CNPJ do prestador não autorizado.")
    if not company.enabled("nfse", env):
        raise FocusError(
            400, "empresa_nao_habilitada", "Emitente ainda não habilitado para emissão de NFSe"
        )
    with store.lock:
        lines = [
            f"LOTE|{ref}|{company.document}|{prestador['inscricao_municipal']}|"
            f"{prestador['codigo_municipio']}|{len(lista)}"
        ]
        rps = []
        for item in lista:
            item = item if isinstance(item, dict) else {}
            numero = store.next_number(company, env, "rps", 1)
            store.take_number(company, env, "rps", 1, numero)
            servico = item.get("servico") or {}
            tomador = item.get("tomador") or {}
            rps.append(numero)
            lines.append(
                "|".join(
                    str(v)
                    for v in (
                        "RPS",
                        numero,
                        "1",
                        item.get("data_emissao", ""),
                        tomador.get("cnpj") or tomador.get("cpf") or "",
                        servico.get("valor_servicos", ""),
                        str(servico.get("discriminacao", "")).replace("|", " "),
                    )
                )
            )
        content = "\r\n".join(lines) + "\r\n"
        store.lotes[(req.principal.token, ref)] = {  # type: ignore[union-attr]
            "content": content,
            "rps": rps,
            "company_id": company.id,
        }
    return Response(
        status=201, body=content.encode("utf-8"), content_type="text/plain; charset=utf-8"
    )


def lote_rps_get(app: App, req: Request, ref: str) -> Response:
    emission.company_for(app, req.principal)
    lote = app.store.lotes.get((req.principal.token, ref))  # type: ignore[union-attr]
    if lote is None:
        raise FocusError(404, "nao_encontrado", "Lote não encontrado")
    return Response(
        status=200, body=lote["content"].encode("utf-8"), content_type="text/plain; charset=utf-8"
    )


def lote_rps_resposta(app: App, req: Request, ref: str) -> Response:
    company, _env = emission.company_for(app, req.principal)
    store = app.store
    with store.lock:
        lote = store.lotes.get((req.principal.token, ref))  # type: ignore[union-attr]
        if lote is None:
            raise FocusError(404, "nao_encontrado", "Lote não encontrado")
        if not req.body.strip():
            raise FocusError(415, "midia_invalida", "Formato de arquivo inválido")
        results = []
        for rps in lote["rps"]:
            numero = store.next_number(company, _env, "lote-nfse", 0)
            store.take_number(company, _env, "lote-nfse", 0, numero)
            results.append(
                {
                    "status": "autorizado",
                    "numero": str(numero),
                    "codigo_verificacao": _digits(f"{ref}|{rps}", 9),
                    "data_emissao": iso(store.clock.now()),
                    "uri": f"{store.base_url}/nfse/lote/{ref}/{numero}",
                }
            )
        return json_response(201, results[0] if len(results) == 1 else results)


def _digits(seed: str, length: int) -> str:
    return f"{int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 10**length:0{length}d}"
