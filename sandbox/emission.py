"""Emission and consulta of NFe, NFCe, NFSe and NFSe Nacional, and their processing.

Reference: focus-nfe-api-v2.txt "Envio" and "Consulta" of each document; "Reenvio automático em
contingência" (NFe), "Emissão automática/manual em contingência offline" and "Tratativa de erros
de timeout" (NFCe). SUPPLEMENT.md "Statuses" and "Previous attempts".

Every function here runs with the store lock held unless it says otherwise.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from typing import TYPE_CHECKING, Any

from sandbox import render, rules
from sandbox.chave import (
    SVC_RS_UFS,
    TP_EMIS_NORMAL,
    TP_EMIS_OFFLINE_NFCE,
    build_chave,
    build_chave_nfse_nacional,
    codigo_numerico,
    only_id_chars,
    protocolo,
)
from sandbox.clock import aamm, year
from sandbox.state import MODELO, PRODUCAO, Company, Document, Store
from sandbox.wire import FocusError, Principal, Request, Response, json_response, not_found

if TYPE_CHECKING:
    from sandbox.app import App

ASYNC_TYPES = ("nfe", "nfse", "nfsen")
# Reference: NFe "Envio síncrono": these UFs never answer synchronously.
NO_SYNC_UFS = frozenset({"SP", "GO", "BA"})
MAX_SYNC_SLEEP = 120.0


# -- access -------------------------------------------------------------------------------


def company_for(app: App, principal: Principal | None) -> tuple[Company, str]:
    """The company and environment a document token stands for; the account token cannot emit."""
    if principal is None or principal.kind != "company":
        raise FocusError(
            403, "permissao_negada", "Token de revenda não pode ser usado para documentos fiscais"
        )
    company = app.store.companies.get(principal.company_id or "")
    if company is None:
        raise FocusError(403, "permissao_negada", "Empresa não encontrada para este token")
    return company, str(principal.env)


def find_document(app: App, principal: Principal | None, doc_type: str, ref: str) -> Document:
    company_for(app, principal)
    assert principal is not None
    doc = app.store.documents.get((principal.token, doc_type, ref))
    if doc is None:
        raise not_found()
    settle_if_due(app, doc)
    return doc


def check_emitter(doc_type: str, payload: dict[str, Any], company: Company, env: str) -> None:
    emitter = only_id_chars(rules.emitter_document(doc_type, payload))
    if emitter != company.document:
        who = "emitente" if doc_type in ("nfe", "nfce") else "prestador"
        raise FocusError(403, "permissao_negada", f"CNPJ do {who} não autorizado.")
    if not company.enabled(doc_type, env):
        names = {"nfe": "NFe", "nfce": "NFCe", "nfse": "NFSe", "nfsen": "NFSe Nacional"}
        raise FocusError(
            400,
            "empresa_nao_habilitada",
            f"Emitente ainda não habilitado para emissão de {names[doc_type]}",
        )


def check_ref_free(store: Store, key: tuple[str, str, str]) -> None:
    """Reference: "Referência": reusable only after erro_autorizacao."""
    existing = store.documents.get(key)
    if existing is None or existing.status == "erro_autorizacao":
        return
    if existing.status == "processando_autorizacao":
        raise FocusError(422, "em_processamento", "Nota fiscal em processamento")
    raise FocusError(422, "nfe_autorizada", "Nota fiscal já autorizada")


# -- emission -----------------------------------------------------------------------------


def emit(app: App, req: Request, doc_type: str) -> Response:
    """POST /v2/<doc_type>?ref=REF. Runs without the lock; takes it for the state change."""
    company, env = company_for(app, req.principal)
    ref = rules.check_ref(req.query.get("ref"), doc_type=doc_type)
    payload = req.json_object()
    forma = req.query.get("forma_emissao")
    if doc_type == "nfce" and forma is not None and forma != "offline":
        raise FocusError(
            400,
            "forma_emissao_nao_informada",
            'Parâmetro "forma_emissao" inválido ou não informado',
        )
    rules.validate(doc_type, payload)
    check_emitter(doc_type, payload, company, env)
    if forma == "offline":
        for name in ("numero", "serie", "codigo_unico"):
            if payload.get(name) in (None, ""):
                raise FocusError(
                    400,
                    "requisicao_invalida",
                    f'Parâmetro "{name}" não informado (obrigatório com forma_emissao=offline)',
                )
    trig = rules.document_triggers(doc_type, payload)
    if doc_type == "nfce" and trig.slow_seconds:
        # NFCe is synchronous: a slow SEFAZ is a slow answer. Sleep outside the lock.
        time.sleep(min(trig.slow_seconds, MAX_SYNC_SLEEP))
    store = app.store
    with store.lock:
        key = (req.principal.token, doc_type, ref)  # type: ignore[union-attr]
        check_ref_free(store, key)
        now = store.clock.now()
        doc = Document(
            token=key[0],
            env=env,
            doc_type=doc_type,
            ref=ref,
            company_id=company.id,
            payload=payload,
            status="processando_autorizacao",
            created_at=now,
            seq=store.next_doc_seq(),
        )
        store.documents[key] = doc
        store.pending.discard(key)
        if doc_type == "nfce":
            emit_nfce(app, doc, company, offline=forma == "offline")
            return json_response(201, render.consulta(store, doc, completa=req.flag("completa")))
        if doc_type == "nfe":
            doc.outcome = rules.sefaz_outcome(
                doc_type=doc_type, payload=payload, company=company, env=env
            )
        else:
            accept_nfse(store, doc, company)
        delay = (
            trig.slow_seconds
            if trig.slow_seconds is not None
            else (store.config.delay_for(doc_type))
        )
        doc.due_at = now + delay
        store.pending.add(key)
        sync = (
            doc_type == "nfe"
            and bool(company.data.get("nfe_sincrono"))
            and company.uf not in NO_SYNC_UFS
            and company.uf not in store.sefaz_down
            and trig.slow_seconds is None
        )
        if sync:
            settle(app, doc)
            return json_response(201, render.consulta(store, doc))
        body = {**render.emitter_field(doc, company), "ref": ref, "status": doc.status}
        return json_response(202, body)


def accept_nfse(store: Store, doc: Document, company: Company) -> None:
    """The RPS/DPS number is fixed at acceptance (it shows while processing)."""
    payload = doc.payload
    dps_taken = False
    if doc.doc_type == "nfsen" and payload.get("numero_dps"):
        serie = str(payload.get("serie_dps") or "1")
        numero = int(payload["numero_dps"])
        dps_taken = store.number_taken(company, doc.env, "dps", int(serie), numero)
    else:
        serie = str(payload.get("serie_rps") or payload.get("serie_dps") or "1")
        kind = "dps" if doc.doc_type == "nfsen" else "rps"
        numero = store.next_number(company, doc.env, kind, int(serie) if serie.isdigit() else 1)
    doc.numero_rps = numero
    doc.serie_rps = serie
    if not dps_taken:
        kind = "dps" if doc.doc_type == "nfsen" else "rps"
        store.take_number(company, doc.env, kind, int(serie) if serie.isdigit() else 1, numero)
    doc.outcome = rules.nfse_outcome(doc_type=doc.doc_type, payload=payload, dps_taken=dps_taken)


def emit_nfce(app: App, doc: Document, company: Company, *, offline: bool) -> None:
    store = app.store
    payload = doc.payload
    doc.outcome = rules.sefaz_outcome(
        doc_type="nfce", payload=payload, company=company, env=doc.env
    )
    contingency = store.contingency.get(company.uf, {})
    if offline:
        _nfce_manual_offline(app, doc, company)
    elif company.uf in store.sefaz_down and not contingency.get("nfce_offline"):
        _reject(doc, "108", rules.SEFAZ_MESSAGES["108"])
    elif contingency.get("nfce_offline") and doc.outcome["kind"] == "autorizar":
        _nfce_automatic_offline(app, doc, company)
    elif contingency.get("nfce_timeout_correction") and doc.outcome["kind"] == "autorizar":
        _nfce_timeout_correction(app, doc, company)
    else:
        settle(app, doc)


def _nfce_manual_offline(app: App, doc: Document, company: Company) -> None:
    """`forma_emissao=offline`: the client issued it offline with its own número/série/cNF."""
    payload = doc.payload
    doc.contingencia_offline = True
    doc.contingencia_offline_efetivada = True
    if doc.outcome["kind"] == "rejeitar":
        _reject(doc, doc.outcome["status_sefaz"], doc.outcome["mensagem_sefaz"])
        return
    cnf = str(payload["codigo_unico"]).rjust(8, "0")[-8:]
    _authorize(app, doc, company, tp_emis=TP_EMIS_OFFLINE_NFCE, cnf=cnf)


def _nfce_automatic_offline(app: App, doc: Document, company: Company) -> None:
    """SEFAZ did not answer: the first attempt's fate is unknown, so Focus issues the next
    number in offline contingency (tpEmis 9) and makes it effective later."""
    store = app.store
    doc.outcome["_pending_attempt"] = _original_attempt(
        store, doc, company, label="offline-original"
    )
    doc.contingencia_offline = True
    doc.contingencia_offline_efetivada = False
    _authorize(app, doc, company, tp_emis=TP_EMIS_OFFLINE_NFCE, with_protocol=False)
    doc.efetivar_at = store.clock.now() + store.config.nfce_efetivar_delay
    store.pending.add(doc.key)


def efetivar(app: App, doc: Document) -> bool:
    """Offline NFCe reaches SEFAZ: it gets its protocol, and the first attempt (which SEFAZ had
    authorized after all) is cancelled and reported as `tentativa_anterior`."""
    if not doc.contingencia_offline or doc.contingencia_offline_efetivada:
        return False
    store = app.store
    company = store.companies.get(doc.company_id)
    if company is None:
        return False
    now = store.clock.now()
    doc.protocolo = _protocol(store, company, now)
    doc.contingencia_offline_efetivada = True
    doc.efetivar_at = None
    store.pending.discard(doc.key)
    pending = doc.outcome.pop("_pending_attempt", None)
    if pending:
        doc.tentativa_anterior = _cancelled_attempt(app, doc, company, pending, now)
        _count_second_document(store, doc)
    _notify(app, doc, company, "nfce_contingencia")
    return True


def _nfce_timeout_correction(app: App, doc: Document, company: Company) -> None:
    """SEFAZ timed out yet authorized the first attempt; Focus issued the next number and
    cancels the first when it learns of it (reported in `tentativas_anteriores`)."""
    store = app.store
    pending = _original_attempt(store, doc, company, label="timeout-original")
    _authorize(app, doc, company, tp_emis=TP_EMIS_NORMAL)
    doc.tentativas_anteriores = [_cancelled_attempt(app, doc, company, pending, store.clock.now())]
    _count_second_document(store, doc)
    _notify(app, doc, company, "nfce_correcao_timeout")


def _cancelled_attempt(
    app: App, doc: Document, company: Company, attempt: dict[str, Any], now: float
) -> dict[str, Any]:
    store = app.store
    index = len(doc.tentativas_anteriores or []) + (1 if doc.tentativa_anterior else 0)
    ghost = dataclasses.replace(
        doc, numero=attempt["numero"], serie=attempt["serie"], chave=attempt["chave"]
    )
    paths = render.nfe_paths(ghost, company)
    out = {
        "status": "cancelado",
        "serie": str(attempt["serie"]),
        "numero": str(attempt["numero"]),
        "chave_nfe": f"NFe{attempt['chave']}",
        "caminho_xml_nota_fiscal": paths["xml"],
        "caminho_xml_cancelamento": paths["can"],
        "_tp_emis": attempt["tp_emis"],
        "_protocolo": _protocol(store, company, now),
        "_protocolo_cancelamento": _protocol(store, company, now),
        "_at": now,
    }
    if doc.doc_type == "nfce":
        out["protocolo"] = out["_protocolo"]
        out["numero_protocolo"] = out["_protocolo_cancelamento"]
    register(store, paths["xml"], "nfe_xml", doc, attempt=index)
    register(store, paths["can"], "can_xml", doc, attempt=index)
    return out


# -- processing -----------------------------------------------------------------------------


def process_due(
    app: App, *, force: bool = False, keys: list[tuple[str, str, str]] | None = None
) -> list[Document]:
    """Settle what is due (or everything, with force) unless its SEFAZ/prefeitura is down."""
    store = app.store
    settled = []
    with store.lock:
        now = store.clock.now()
        candidates = keys if keys is not None else store.pending
        ordered = sorted(candidates, key=lambda k: getattr(store.documents.get(k), "seq", 0))
        for key in ordered:
            doc = store.documents.get(key)
            if doc is None:
                store.pending.discard(key)
                continue
            due = doc.due_at is not None and (force or doc.due_at <= now)
            if due and settle(app, doc):
                settled.append(doc)
            if doc.efetivar_at is not None and (force or doc.efetivar_at <= now):
                company = store.companies.get(doc.company_id)
                if company and company.uf not in store.sefaz_down:
                    efetivar(app, doc)
            if doc.due_at is None and doc.efetivar_at is None:
                store.pending.discard(key)
    return settled


def settle_if_due(app: App, doc: Document) -> None:
    """A GET right after a POST with zero delay must not race the processor thread."""
    if doc.key in app.store.pending:
        process_due(app, keys=[doc.key])


def settle(app: App, doc: Document) -> bool:
    """Decide a processing document. Returns False when it must keep waiting."""
    store = app.store
    company = store.companies.get(doc.company_id)
    if company is None:
        return False
    if company.uf in store.sefaz_down:
        return False
    doc.due_at = None
    if doc.doc_type in ("nfse", "nfsen"):
        _settle_nfse(app, doc, company)
        return True
    outcome = doc.outcome
    if outcome["kind"] == "rejeitar":
        _reject(doc, outcome["status_sefaz"], outcome["mensagem_sefaz"])
    else:
        contingency = store.contingency.get(company.uf, {})
        if (
            doc.doc_type == "nfe"
            and outcome["kind"] == "autorizar"
            and contingency.get("nfe_resend")
        ):
            _nfe_contingency_resend(app, doc, company)
        else:
            _authorize(
                app, doc, company, tp_emis=TP_EMIS_NORMAL, denied=outcome["kind"] == "denegar"
            )
    if doc.doc_type == "nfe":
        _notify(app, doc, company, "nfe")
    return True


def _nfe_contingency_resend(app: App, doc: Document, company: Company) -> None:
    """SEFAZ went silent mid-emission: Focus re-sends in SVC contingency with the next number
    and cancels the earlier attempt once it turns out authorized (a numbering gap)."""
    store = app.store
    attempt = _original_attempt(store, doc, company, label="resend-original")
    tp_emis = "7" if company.uf in SVC_RS_UFS else "6"
    _authorize(app, doc, company, tp_emis=tp_emis)
    doc.tentativa_anterior = _cancelled_attempt(app, doc, company, attempt, store.clock.now())
    _count_second_document(store, doc)


def _original_attempt(
    store: Store, doc: Document, company: Company, *, label: str
) -> dict[str, Any]:
    """Take the number of a first, normal-emission attempt whose answer never came (SEFAZ may
    have authorized it): the document goes out again under the next number, and this attempt
    is cancelled once it turns out authorized."""
    serie, modelo = _serie(doc), MODELO[doc.doc_type]
    numero = store.next_number(company, doc.env, modelo, serie)
    store.take_number(company, doc.env, modelo, serie, numero)
    chave = _chave(doc, company, serie, numero, TP_EMIS_NORMAL, attempt=label)
    return {"numero": numero, "serie": serie, "chave": chave, "tp_emis": TP_EMIS_NORMAL}


def _count_second_document(store: Store, doc: Document) -> None:
    """A contingency made SEFAZ hold two documents for one ref: both count as created."""
    counter = store.counter(doc.token, doc.doc_type, doc.ref)
    counter.documents_created += 1
    counter.contingency_documents += 1


def _reject(doc: Document, status_sefaz: str, mensagem: str) -> None:
    doc.status = "erro_autorizacao"
    doc.status_sefaz = status_sefaz
    doc.mensagem_sefaz = mensagem
    doc.due_at = None


def _serie(doc: Document) -> int:
    try:
        return int(doc.payload.get("serie") or 1)
    except (TypeError, ValueError):
        return 1


def _chave(
    doc: Document,
    company: Company,
    serie: int,
    numero: int,
    tp_emis: str,
    *,
    attempt: str = "",
    cnf: str | None = None,
) -> str:
    modelo = MODELO[doc.doc_type]
    seed = f"{doc.token}|{doc.doc_type}|{doc.ref}|{attempt}|{numero}"
    return build_chave(
        uf=company.uf,
        aamm=aamm(doc.created_at),
        emitente=company.document,
        modelo=modelo,
        serie=serie,
        numero=numero,
        tp_emis=tp_emis,
        cnf=cnf or codigo_numerico(seed, numero),
    )


def _protocol(store: Store, company: Company, now: float) -> str:
    return protocolo(uf=company.uf, ano=year(now), sequencia=store.next_protocol_seq())


def _authorize(
    app: App,
    doc: Document,
    company: Company,
    *,
    tp_emis: str,
    denied: bool = False,
    cnf: str | None = None,
    with_protocol: bool = True,
) -> None:
    """Give the note its number and chave. A client-chosen number already used is 539."""
    store = app.store
    modelo = MODELO[doc.doc_type]
    serie = _serie(doc)
    wanted = doc.payload.get("numero")
    if wanted not in (None, ""):
        numero = int(wanted)
        if store.number_taken(company, doc.env, modelo, serie, numero):
            _reject(doc, "539", rules.SEFAZ_MESSAGES["539"])
            return
    else:
        numero = store.next_number(company, doc.env, modelo, serie)
    store.take_number(company, doc.env, modelo, serie, numero)
    now = store.clock.now()
    doc.numero, doc.serie, doc.tp_emis = numero, serie, tp_emis
    doc.chave = _chave(doc, company, serie, numero, tp_emis, cnf=cnf)
    doc.protocolo = _protocol(store, company, now) if with_protocol else None
    doc.authorized_at = now
    doc.status = "denegado" if denied else "autorizado"
    doc.status_sefaz = doc.outcome.get("status_sefaz", "100")
    doc.mensagem_sefaz = doc.outcome.get("mensagem_sefaz", rules.SEFAZ_MESSAGES["100"])
    doc.due_at = None
    store.counter(doc.token, doc.doc_type, doc.ref).documents_created += 1
    paths = render.nfe_paths(doc, company)
    register(store, paths["xml"], "nfe_xml", doc)
    if not denied:
        register(
            store, paths["danfe"], "danfe_pdf" if doc.doc_type == "nfe" else "danfce_html", doc
        )


def _settle_nfse(app: App, doc: Document, company: Company) -> None:
    store = app.store
    outcome = doc.outcome
    if outcome["kind"] == "rejeitar":
        doc.status = "erro_autorizacao"
        doc.erros = outcome["erros"]
        _notify(app, doc, company, doc.doc_type)
        return
    now = store.clock.now()
    numero = store.next_number(company, doc.env, f"{doc.doc_type}-numero", 0)
    store.take_number(company, doc.env, f"{doc.doc_type}-numero", 0, numero)
    doc.numero = numero
    doc.authorized_at = now
    doc.protocolo = _protocol(store, company, now)
    seed = f"{doc.token}|{doc.doc_type}|{doc.ref}|{numero}"
    if doc.doc_type == "nfsen":
        doc.codigo_verificacao = build_chave_nfse_nacional(
            codigo_municipio=str(doc.payload.get("codigo_municipio_emissora")),
            ambiente="1" if doc.env == PRODUCAO else "2",
            inscricao=company.document,
            numero=numero,
            aamm=aamm(now),
            seed=seed,
        )
    else:
        digest = hashlib.sha256(seed.encode()).hexdigest().upper()
        doc.codigo_verificacao = f"{digest[:4]}-{digest[4:7]}"
    doc.status = "autorizado"
    store.counter(doc.token, doc.doc_type, doc.ref).documents_created += 1
    paths = render.nfse_paths(doc, company)
    register(store, paths["xml"], "nfse_xml", doc)
    register(store, paths["html"], "nfse_html", doc)
    if doc.doc_type == "nfsen":
        register(store, paths["danfse"], "danfse_pdf", doc)
    _substitute(app, doc, company)
    _notify(app, doc, company, doc.doc_type)


def _substitute(app: App, doc: Document, company: Company) -> None:
    """An NFSe naming `numero_nfse_substituida` replaces that authorized NFSe."""
    replaced = doc.payload.get("numero_nfse_substituida")
    if replaced in (None, ""):
        return
    for other in app.store.documents.values():
        if (
            other is not doc
            and other.company_id == doc.company_id
            and other.env == doc.env
            and other.doc_type == doc.doc_type
            and str(other.numero) == str(replaced)
            and other.status == "autorizado"
        ):
            other.status = "substituido"
            other.numero_nfse_substituta = str(doc.numero)
            doc.numero_nfse_substituida = str(replaced)
            _notify(app, other, company, other.doc_type)
            return


# -- files and hooks ------------------------------------------------------------------------


def register(store: Store, path: str, kind: str, doc: Document, **extra: Any) -> None:
    store.files[path] = {"kind": kind, "doc": list(doc.key), **extra}


def _notify(app: App, doc: Document, company: Company, event: str) -> int:
    payload = render.consulta(app.store, doc)
    return app.hooks.notify(
        doc_token=doc.token,
        company=company,
        event=event,
        payload=payload,
        ref=doc.ref,
        doc_type=doc.doc_type,
    )


def notify(app: App, doc: Document, event: str | None = None) -> int:
    company = app.store.companies.get(doc.company_id)
    if company is None:
        return 0
    return _notify(app, doc, company, event or doc.doc_type)


# -- consulta -------------------------------------------------------------------------------


def consulta(app: App, req: Request, doc_type: str, ref: str) -> Response:
    with app.store.lock:
        doc = find_document(app, req.principal, doc_type, ref)
        completa = req.flag("completa") and doc_type in ("nfe", "nfce")
        return json_response(200, render.consulta(app.store, doc, completa=completa))
