"""The sandbox's memory: companies, tokens, documents, numbering, counters, files, hooks.

Everything lives in one `Store` guarded by one re-entrant lock. The sandbox serves a handful of
clients on loopback; one lock keeps every rule (ref uniqueness, numbering, counters) trivially
atomic and is nowhere near being the bottleneck (see bench/bench_sandbox.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import string
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.chave import only_id_chars
from sandbox.clock import Clock

HOMOLOGACAO = "homologacao"
PRODUCAO = "producao"
ENVS = (HOMOLOGACAO, PRODUCAO)

DOC_TYPES = ("nfe", "nfce", "nfse", "nfsen")
MODELO = {"nfe": "55", "nfce": "65"}

DEFAULT_ACCOUNT_TOKEN = "sandbox-account-token"  # noqa: S105 - a documented, public test value

_ALNUM = string.ascii_letters + string.digits


def new_token() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(32))


def new_id(length: int = 8) -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(length))


@dataclass
class Config:
    """Knobs tests turn through `POST /__sandbox__/config` (and the CLI)."""

    processing_delay: float = 0.0
    # Per document type overrides of processing_delay, e.g. {"nfse": 5}.
    processing_delays: dict[str, float] = field(default_factory=dict)
    hook_schedule_scale: float = 1.0
    hook_timeout: float = 5.0
    # Requests per minute per token; 0 disables the limit (the benchmark does).
    rate_limit: int = 100
    rate_limit_window: float = 60.0
    hang_seconds: float = 30.0
    # Seconds every /v2/ answer waits before it is sent: a slow Focus (benchmarks of workers
    # overlapping I/O). The request is processed first, like a slow network on the way back.
    response_delay: float = 0.0
    # Seconds after which an NFCe issued in offline contingency is made effective on its own.
    nfce_efetivar_delay: float = 60.0

    def update(self, data: dict[str, Any]) -> list[str]:
        """Apply known keys with the type of their default; return the unknown ones."""
        unknown = []
        for key, value in data.items():
            if key not in self.__dataclass_fields__:
                unknown.append(key)
                continue
            current = getattr(self, key)
            if isinstance(current, dict):
                setattr(self, key, {str(k): float(v) for k, v in dict(value).items()})
            else:
                setattr(self, key, type(current)(value))
        return unknown

    def delay_for(self, doc_type: str) -> float:
        return float(self.processing_delays.get(doc_type, self.processing_delay))


@dataclass
class Company:
    id: str
    data: dict[str, Any]
    token_homologacao: str
    token_producao: str
    created_at: float

    @property
    def cnpj(self) -> str:
        return only_id_chars(self.data.get("cnpj"))

    @property
    def cpf(self) -> str:
        return only_id_chars(self.data.get("cpf"))

    @property
    def document(self) -> str:
        return self.cnpj or self.cpf

    @property
    def uf(self) -> str:
        return str(self.data.get("uf") or "SP").upper()

    @property
    def regime(self) -> int:
        try:
            return int(self.data.get("regime_tributario") or 1)
        except (TypeError, ValueError):
            return 1

    def enabled(self, doc_type: str, env: str) -> bool:
        if doc_type == "nfsen":
            return bool(self.data.get(f"habilita_nfsen_{env}", False))
        return bool(self.data.get(f"habilita_{doc_type}", False))

    def token(self, env: str) -> str:
        return self.token_producao if env == PRODUCAO else self.token_homologacao

    def public(self, *, with_tokens: bool) -> dict[str, Any]:
        out = {"id": self.id, **self.data}
        if with_tokens:
            out["token_producao"] = self.token_producao
            out["token_homologacao"] = self.token_homologacao
        return out


@dataclass
class Document:
    """One emission: an NFe, NFCe, NFSe or NFSe Nacional, keyed by (token, doc_type, ref)."""

    token: str
    env: str
    doc_type: str
    ref: str
    company_id: str
    payload: dict[str, Any]
    status: str
    created_at: float
    # When asynchronous processing settles the document (None once settled).
    due_at: float | None = None
    # The outcome decided from the payload at acceptance: kind + SEFAZ/prefeitura answer.
    outcome: dict[str, Any] = field(default_factory=dict)
    status_sefaz: str | None = None
    mensagem_sefaz: str | None = None
    erros: list[dict[str, Any]] | None = None
    numero: int | None = None
    serie: int | None = None
    tp_emis: str = "1"
    chave: str | None = None
    protocolo: str | None = None
    authorized_at: float | None = None
    # NFSe
    numero_rps: int | None = None
    serie_rps: str | None = None
    codigo_verificacao: str | None = None
    numero_nfse_substituida: str | None = None
    numero_nfse_substituta: str | None = None
    # Events on an authorized note.
    cancel: dict[str, Any] | None = None
    cces: list[dict[str, Any]] = field(default_factory=list)
    atores: list[dict[str, Any]] = field(default_factory=list)
    insucessos: list[dict[str, Any]] = field(default_factory=list)
    insucesso_cancelamentos: list[dict[str, Any]] = field(default_factory=list)
    # POST /v2/nfe/REF/evento (sandbox/evento.py), each with its tipo_evento and number.
    eventos: list[dict[str, Any]] = field(default_factory=list)
    # Contingency
    contingencia_offline: bool | None = None
    contingencia_offline_efetivada: bool | None = None
    efetivar_at: float | None = None
    tentativa_anterior: dict[str, Any] | None = None
    tentativas_anteriores: list[dict[str, Any]] | None = None
    imported_xml: str | None = None
    # Arrival order: notes due together are processed first come, first numbered.
    seq: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.token, self.doc_type, self.ref)


@dataclass
class Hook:
    id: str
    owner_token: str
    event: str
    url: str
    cnpj: str | None
    cpf: str | None
    authorization: str | None
    authorization_header: str | None
    created_at: float
    # Lifetime totals, kept for state files written before the metrics window.
    request_count: int = 0
    error_count: int = 0
    success_count: int = 0
    # [at, ok] of each delivery attempt inside Focus's metrics window (hooks.METRICS_WINDOW).
    recent_attempts: list[list[Any]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "url": self.url, "event": self.event}
        if self.cnpj:
            out["cnpj"] = self.cnpj
        if self.cpf:
            out["cpf"] = self.cpf
        out["authorization"] = self.authorization
        out["authorization_header"] = self.authorization_header
        return out


@dataclass
class Counter:
    posts: int = 0
    documents_created: int = 0
    # Fiscal documents the sandbox itself issued on top of the first one, as Focus does in a
    # contingency re-send or a timeout correction: legitimate, not the client's duplicate.
    contingency_documents: int = 0


class Store:
    def __init__(self, *, account_token: str, config: Config | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.account_token = account_token
        # Absolute URLs (NFSe `url`, `url_danfse`) point back at this server.
        self.base_url = ""
        self.config = config or Config()
        self.initial_companies: list[dict[str, Any]] = []
        self._clear()

    def _clear(self) -> None:
        self.companies: dict[str, Company] = {}
        self.tokens: dict[str, tuple[str, str]] = {}
        self.documents: dict[tuple[str, str, str], Document] = {}
        # Last number issued per "company|env|modelo|serie" and the numbers taken in each.
        self.sequences: dict[str, int] = {}
        self.used_numbers: dict[str, set[int]] = {}
        self.inutilizacoes: list[dict[str, Any]] = []
        self.counters: dict[tuple[str, str, str], Counter] = {}
        # Public file path -> what to render there.
        self.files: dict[str, dict[str, Any]] = {}
        self.hooks: dict[str, Hook] = {}
        self.deliveries: list[dict[str, Any]] = []
        self.emails: list[dict[str, Any]] = []
        self.lotes: dict[tuple[str, str], dict[str, Any]] = {}
        # Documents waiting for asynchronous processing or offline-contingency efetivação.
        self.pending: set[tuple[str, str, str]] = set()
        self.sefaz_down: set[str] = set()
        self.contingency: dict[str, dict[str, bool]] = {}
        self.protocol_seq = 0
        self.doc_seq = 0

    # -- companies -------------------------------------------------------------------------

    def add_company(self, data: dict[str, Any], *, company_id: str | None = None) -> Company:
        with self.lock:
            fields = {
                k: v
                for k, v in data.items()
                if k not in ("id", "token_homologacao", "token_producao")
            }
            for key in ("cnpj", "cpf"):
                if fields.get(key):
                    fields[key] = only_id_chars(fields[key])
            if fields.get("uf"):
                fields["uf"] = str(fields["uf"]).upper()
            company = Company(
                id=company_id or str(data.get("id") or new_id()),
                data=fields,
                token_homologacao=str(data.get("token_homologacao") or new_token()),
                token_producao=str(data.get("token_producao") or new_token()),
                created_at=self.clock.now(),
            )
            self.companies[company.id] = company
            self.tokens[company.token_homologacao] = (company.id, HOMOLOGACAO)
            self.tokens[company.token_producao] = (company.id, PRODUCAO)
            return company

    def remove_company(self, company_id: str) -> Company | None:
        with self.lock:
            company = self.companies.pop(company_id, None)
            if company:
                self.tokens.pop(company.token_homologacao, None)
                self.tokens.pop(company.token_producao, None)
            return company

    def find_company(self, document: str) -> Company | None:
        doc = only_id_chars(document)
        for company in self.companies.values():
            if company.document == doc:
                return company
        return None

    def load_initial_companies(self, companies: list[dict[str, Any]]) -> list[Company]:
        """Companies given at start (file or constructor) are what `reset` comes back to."""
        self.initial_companies.extend(dict(c) for c in companies)
        return [self.add_company(c) for c in companies]

    # -- numbering ------------------------------------------------------------------------

    def series_key(self, company: Company, env: str, modelo: str, serie: int) -> str:
        return f"{company.id}|{env}|{modelo}|{serie}"

    def next_number(self, company: Company, env: str, modelo: str, serie: int) -> int:
        """The next free number of a série: after the last issued, skipping used and voided."""
        key = self.series_key(company, env, modelo, serie)
        if key not in self.sequences:
            doc_type = "nfe" if modelo == "55" else "nfce" if modelo == "65" else modelo
            start = company.data.get(f"proximo_numero_{doc_type}_{env}")
            self.sequences[key] = int(start) - 1 if start else 0
        number = self.sequences[key] + 1
        while number in self.used_numbers.get(key, set()) or self.is_voided(key, number):
            number += 1
        return number

    def take_number(self, company: Company, env: str, modelo: str, serie: int, number: int) -> None:
        key = self.series_key(company, env, modelo, serie)
        self.used_numbers.setdefault(key, set()).add(number)
        self.sequences[key] = max(self.sequences.get(key, 0), number)

    def number_taken(
        self, company: Company, env: str, modelo: str, serie: int, number: int
    ) -> bool:
        key = self.series_key(company, env, modelo, serie)
        return number in self.used_numbers.get(key, set())

    def is_voided(self, key: str, number: int) -> bool:
        return any(
            inu["series_key"] == key and inu["inicio"] <= number <= inu["fim"]
            for inu in self.inutilizacoes
            if inu["status"] == "autorizado"
        )

    def next_doc_seq(self) -> int:
        self.doc_seq += 1
        return self.doc_seq

    def next_protocol_seq(self) -> int:
        self.protocol_seq += 1
        return self.protocol_seq

    # -- counters --------------------------------------------------------------------------

    def counter(self, token: str, doc_type: str, ref: str) -> Counter:
        return self.counters.setdefault((token, doc_type, ref), Counter())

    # -- reset / persistence ---------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self._clear()
            self.clock.reset()
            self.config = Config(
                **{k: getattr(self._initial_config, k) for k in Config.__dataclass_fields__}
            )
            for data in self.initial_companies:
                self.add_company(data)

    def remember_initial_config(self) -> None:
        self._initial_config = dataclasses.replace(self.config)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "clock_offset": self.clock.offset,
                "companies": [dataclasses.asdict(c) for c in self.companies.values()],
                "documents": [dataclasses.asdict(d) for d in self.documents.values()],
                "sequences": self.sequences,
                "used_numbers": {k: sorted(v) for k, v in self.used_numbers.items()},
                "inutilizacoes": self.inutilizacoes,
                "counters": [
                    {"key": list(k), **dataclasses.asdict(v)} for k, v in self.counters.items()
                ],
                "files": self.files,
                "hooks": [dataclasses.asdict(h) for h in self.hooks.values()],
                "lotes": [{"key": list(k), **v} for k, v in self.lotes.items()],
                "protocol_seq": self.protocol_seq,
            }

    def restore(self, data: dict[str, Any]) -> None:
        with self.lock:
            self._clear()
            self.clock.set(self.clock.now() + float(data.get("clock_offset", 0.0)))
            for raw in data.get("companies", []):
                company = Company(**raw)
                self.companies[company.id] = company
                self.tokens[company.token_homologacao] = (company.id, HOMOLOGACAO)
                self.tokens[company.token_producao] = (company.id, PRODUCAO)
            for raw in data.get("documents", []):
                doc = Document(**raw)
                self.documents[doc.key] = doc
                if doc.due_at is not None or doc.efetivar_at is not None:
                    self.pending.add(doc.key)
            self.sequences = dict(data.get("sequences", {}))
            self.used_numbers = {k: set(v) for k, v in data.get("used_numbers", {}).items()}
            self.inutilizacoes = list(data.get("inutilizacoes", []))
            for raw in data.get("counters", []):
                key = tuple(raw.pop("key"))
                self.counters[key] = Counter(**raw)  # type: ignore[index]
            self.files = dict(data.get("files", {}))
            for raw in data.get("hooks", []):
                hook = Hook(**raw)
                self.hooks[hook.id] = hook
            for raw in data.get("lotes", []):
                key = tuple(raw.pop("key"))
                self.lotes[key] = raw  # type: ignore[index]
            self.protocol_seq = int(data.get("protocol_seq", 0))
            self.doc_seq = max((d.seq for d in self.documents.values()), default=0)

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.snapshot(), ensure_ascii=False))
        os.replace(tmp, path)  # atomic: a crash mid-write never leaves half a state file

    def load(self, path: Path) -> bool:
        if not path.exists():
            return False
        self.restore(json.loads(path.read_text()))
        return True
