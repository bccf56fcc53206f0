"""The test-only control API under `/__sandbox__/` (no auth; the server binds loopback).

Everything a test needs to make Focus misbehave and to observe what the client did: delays,
faults, SEFAZ outages, contingency, time, hook deliveries and the per-ref counters that prove
there was no duplicate fiscal document. Hosted files and the file-download log have their own
module (control_files.py), routed from here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox import control_files, emission, render
from sandbox.chave import UF_CODES, only_id_chars
from sandbox.clock import iso
from sandbox.faults import parse_rule
from sandbox.wire import FocusError, Request, Response, error_response, json_response

if TYPE_CHECKING:
    from sandbox.app import App

CONTINGENCY_FLAGS = ("nfe_resend", "nfce_offline", "nfce_timeout_correction")


def _bad(message: str) -> FocusError:
    return FocusError(400, "requisicao_invalida", message)


def _ufs(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if values == ["*"]:
        return sorted(UF_CODES)
    ufs = [str(v).upper() for v in values]
    unknown = [uf for uf in ufs if uf not in UF_CODES]
    if unknown or not ufs:
        raise _bad(f"UF inválida: {unknown or value}")
    return ufs


# -- handlers ----------------------------------------------------------------------------------


def health(app: App, req: Request) -> Response:
    return json_response(
        200,
        {
            "status": "ok",
            "documents": len(app.store.documents),
            "companies": len(app.store.companies),
            "now": iso(app.store.clock.now()),
        },
    )


def get_config(app: App, req: Request) -> Response:
    with app.store.lock:
        config = {k: getattr(app.store.config, k) for k in app.store.config.__dataclass_fields__}
        return json_response(
            200,
            {
                **config,
                "account_token": app.store.account_token,
                "sefaz_down": sorted(app.store.sefaz_down),
                "contingency": app.store.contingency,
                "hooks_paused": app.hooks.pause_mode,
            },
        )


def set_config(app: App, req: Request) -> Response:
    data = dict(req.json_object())
    companies = data.pop("companies", None)
    with app.store.lock:
        try:
            unknown = app.store.config.update(data)
        except (TypeError, ValueError) as exc:
            raise _bad(f"Valor inválido: {exc}") from exc
        if unknown:
            raise _bad(f"Chaves desconhecidas: {', '.join(unknown)}")
        # {"companies": {"<cnpj, cpf or id>": {"nfe_sincrono": true, ...}}} patches companies,
        # e.g. to switch synchronous NFe emission on for one of them.
        for ident, patch in (companies or {}).items():
            company = app.store.companies.get(ident) or app.store.find_company(ident)
            if company is None:
                raise _bad(f"Empresa não encontrada: {ident}")
            company.data.update(patch)
    return get_config(app, req)


def add_faults(app: App, req: Request) -> Response:
    data = req.json()
    rules = data if isinstance(data, list) else [data]
    try:
        parsed = [parse_rule(r) for r in rules]
    except (TypeError, ValueError) as exc:
        raise _bad(str(exc)) from exc
    for rule in parsed:
        app.faults.add(rule)
    return json_response(201, {"faults": app.faults.describe()})


def list_faults(app: App, req: Request) -> Response:
    return json_response(200, {"faults": app.faults.describe()})


def clear_faults(app: App, req: Request) -> Response:
    app.faults.clear()
    return json_response(200, {"faults": []})


def sefaz(app: App, req: Request) -> Response:
    data = req.json_object()
    ufs = _ufs(data.get("uf"))
    with app.store.lock:
        for uf in ufs:
            if data.get("down", True):
                app.store.sefaz_down.add(uf)
            else:
                app.store.sefaz_down.discard(uf)
        return json_response(200, {"sefaz_down": sorted(app.store.sefaz_down)})


def get_sefaz(app: App, req: Request) -> Response:
    return json_response(200, {"sefaz_down": sorted(app.store.sefaz_down)})


def contingency(app: App, req: Request) -> Response:
    data = req.json_object()
    ufs = _ufs(data.get("uf"))
    with app.store.lock:
        for uf in ufs:
            flags = app.store.contingency.setdefault(uf, dict.fromkeys(CONTINGENCY_FLAGS, False))
            for flag in CONTINGENCY_FLAGS:
                if flag in data:
                    flags[flag] = bool(data[flag])
        return json_response(200, {"contingency": app.store.contingency})


def get_contingency(app: App, req: Request) -> Response:
    return json_response(200, {"contingency": app.store.contingency})


def _select(app: App, data: dict[str, Any]) -> list[tuple[str, str, str]] | None:
    if not any(data.get(k) for k in ("ref", "doc_type", "token")):
        return None
    return [
        key
        for key in app.store.documents
        if (not data.get("token") or key[0] == data["token"])
        and (not data.get("doc_type") or key[1] == data["doc_type"])
        and (not data.get("ref") or key[2] == data["ref"])
    ]


def process(app: App, req: Request) -> Response:
    """Settle pending documents now (whatever their delay), except where SEFAZ is down."""
    data = req.json_object()
    with app.store.lock:
        keys = _select(app, data)
        settled = emission.process_due(app, force=True, keys=keys)
        return json_response(
            200,
            {
                "settled": [
                    {"doc_type": d.doc_type, "ref": d.ref, "status": d.status} for d in settled
                ]
            },
        )


def efetivar(app: App, req: Request, ref: str | None = None) -> Response:
    """Make offline-contingency NFCe effective now (all pending ones, or the ref given)."""
    data = req.json_object()
    if ref:
        data["ref"] = ref
    data["doc_type"] = "nfce"
    with app.store.lock:
        keys = _select(app, data) or []
        done = []
        for key in keys:
            doc = app.store.documents[key]
            if emission.efetivar(app, doc):
                done.append(render.consulta(app.store, doc))
        return json_response(200, {"efetivadas": done})


def clock(app: App, req: Request) -> Response:
    data = req.json_object()
    if "advance_seconds" in data:
        app.store.clock.advance(float(data["advance_seconds"]))
    elif "set" in data:
        app.store.clock.set(float(data["set"]))
    elif data.get("reset"):
        app.store.clock.reset()
    return get_clock(app, req)


def get_clock(app: App, req: Request) -> Response:
    now = app.store.clock.now()
    return json_response(
        200, {"now": iso(now), "timestamp": now, "offset_seconds": app.store.clock.offset}
    )


def deliveries(app: App, req: Request) -> Response:
    found = list(app.store.deliveries)
    for key in ("ref", "event", "hook_id", "doc_type"):
        if req.query.get(key):
            found = [d for d in found if str(d.get(key)) == req.query[key]]
    return json_response(200, {"deliveries": found, "pending": app.hooks.pending()})


def pause_hooks(app: App, req: Request) -> Response:
    data = req.json_object()
    mode = data.get("mode", "hold")
    if data.get("paused") is False or mode in (None, "none", "resume"):
        mode = None
    elif mode not in ("hold", "drop"):
        raise _bad('mode deve ser "hold" ou "drop"')
    app.hooks.pause(mode)
    return json_response(200, {"hooks_paused": app.hooks.pause_mode})


def resume_hooks(app: App, req: Request) -> Response:
    app.hooks.pause(None)
    return json_response(200, {"hooks_paused": None})


def counters(app: App, req: Request) -> Response:
    """Per (token, doc_type, ref): POSTs received and fiscal documents created.

    `duplicates` counts fiscal documents beyond the first that the sandbox did not create on its
    own initiative (contingency re-send, timeout correction): it must always be 0.
    """
    q = req.query
    with app.store.lock:
        emission.process_due(app)  # what is due counts, even if the processor has not run yet
        rows = []
        for (token, doc_type, ref), c in app.store.counters.items():
            if (
                (q.get("token") and token != q["token"])
                or (q.get("doc_type") and doc_type != q["doc_type"])
                or (q.get("ref") and ref != q["ref"])
            ):
                continue
            rows.append(
                {
                    "token": token,
                    "doc_type": doc_type,
                    "ref": ref,
                    "posts": c.posts,
                    "documents_created": c.documents_created,
                    "contingency_documents": c.contingency_documents,
                    "duplicates": max(0, c.documents_created - c.contingency_documents - 1),
                }
            )
        totals = {
            k: sum(r[k] for r in rows)
            for k in ("posts", "documents_created", "contingency_documents", "duplicates")
        }
        return json_response(200, {"counters": rows, "totals": totals})


def reset(app: App, req: Request) -> Response:
    app.reset()
    return json_response(200, {"status": "reset"})


def add_companies(app: App, req: Request) -> Response:
    data = req.json()
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(i, dict) for i in items):
        raise _bad("Informe um objeto de empresa ou uma lista deles")
    with app.store.lock:
        added = []
        for item in items:
            existing = app.store.find_company(only_id_chars(item.get("cnpj") or item.get("cpf")))
            if existing is not None:
                app.store.remove_company(existing.id)
            added.append(app.store.add_company(item).public(with_tokens=True))
        return json_response(201, added)


def list_companies(app: App, req: Request) -> Response:
    with app.store.lock:
        return json_response(
            200, [c.public(with_tokens=True) for c in app.store.companies.values()]
        )


def documents(app: App, req: Request) -> Response:
    with app.store.lock:
        emission.process_due(app)
        keys = _select(app, dict(req.query)) or list(app.store.documents)
        out = []
        for key in keys:
            doc = app.store.documents[key]
            out.append(
                {
                    "token": doc.token,
                    "doc_type": doc.doc_type,
                    "env": doc.env,
                    # Epoch seconds, unrounded: benchmarks time the gateway from this moment.
                    "authorized_at": doc.authorized_at,
                    **render.consulta(app.store, doc),
                    # Not Focus's: what /evento registered, to count events in tests.
                    "eventos": [{"tipo_evento": e["tipo"], "numero": e["numero"]}
                                for e in doc.eventos],
                }
            )
        return json_response(200, {"documents": out})


def emails(app: App, req: Request) -> Response:
    return json_response(200, {"emails": list(app.store.emails)})


def save(app: App, req: Request) -> Response:
    if app.state_file is None:
        raise _bad("Servidor iniciado sem --state-file")
    app.save()
    return json_response(200, {"saved": str(app.state_file)})


ROUTES: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
    ("GET", re.compile(r"^/__sandbox__/health$"), health),
    ("GET", re.compile(r"^/__sandbox__/config$"), get_config),
    ("POST", re.compile(r"^/__sandbox__/config$"), set_config),
    ("GET", re.compile(r"^/__sandbox__/faults$"), list_faults),
    ("POST", re.compile(r"^/__sandbox__/faults$"), add_faults),
    ("DELETE", re.compile(r"^/__sandbox__/faults$"), clear_faults),
    ("GET", re.compile(r"^/__sandbox__/sefaz$"), get_sefaz),
    ("POST", re.compile(r"^/__sandbox__/sefaz$"), sefaz),
    ("GET", re.compile(r"^/__sandbox__/contingency$"), get_contingency),
    ("POST", re.compile(r"^/__sandbox__/contingency$"), contingency),
    ("POST", re.compile(r"^/__sandbox__/process$"), process),
    ("POST", re.compile(r"^/__sandbox__/efetivar$"), efetivar),
    ("POST", re.compile(r"^/__sandbox__/nfce/(?P<ref>[^/]+)/efetivar$"), efetivar),
    ("GET", re.compile(r"^/__sandbox__/clock$"), get_clock),
    ("POST", re.compile(r"^/__sandbox__/clock$"), clock),
    ("GET", re.compile(r"^/__sandbox__/hook-deliveries$"), deliveries),
    ("POST", re.compile(r"^/__sandbox__/hooks/pause$"), pause_hooks),
    ("POST", re.compile(r"^/__sandbox__/hooks/resume$"), resume_hooks),
    ("GET", re.compile(r"^/__sandbox__/counters$"), counters),
    ("POST", re.compile(r"^/__sandbox__/reset$"), reset),
    ("GET", re.compile(r"^/__sandbox__/companies$"), list_companies),
    ("POST", re.compile(r"^/__sandbox__/companies$"), add_companies),
    ("GET", re.compile(r"^/__sandbox__/documents$"), documents),
    ("GET", re.compile(r"^/__sandbox__/emails$"), emails),
    ("POST", re.compile(r"^/__sandbox__/save$"), save),
    *control_files.ROUTES,
]


def dispatch(app: App, req: Request) -> Response:
    for method, pattern, handler in ROUTES:
        match = pattern.match(req.path)
        if match and method == req.method:
            try:
                return handler(app, req, **match.groupdict())
            except FocusError as error:
                return error_response(error)
    return error_response(FocusError(404, "nao_encontrado", "Endpoint de controle desconhecido"))
