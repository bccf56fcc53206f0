"""Gatilhos: the `/v2/hooks` registry and the worker that POSTs notifications.

Reference: SUPPLEMENT.md "Hooks". Focus POSTs one document per request, JSON shaped like the
GET consulta, with the hook's static `authorization` value in its header; any non-2xx or no
answer is a failure, retried after 1 min, 30 min, 1 h, 3 h and 24 h, then abandoned. The
schedule is multiplied by `hook_schedule_scale` (0.001 turns 24 h into 86 s) and runs on the
sandbox clock, so advancing the clock also brings retries due.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx

from sandbox.chave import only_id_chars
from sandbox.clock import iso
from sandbox.state import Company, Hook, Store, new_id
from sandbox.wire import FocusError, missing, not_found

RETRY_SCHEDULE = (60.0, 1800.0, 3600.0, 10800.0, 86400.0)
MAX_HOOKS_PER_COMPANY_EVENT = 5

EVENTS = (
    "nfe",
    "nfse",
    "nfsen",
    "nfce_contingencia",
    "nfce_correcao_timeout",
    "inutilizacao",
    "nfe_recebida",
    "nfe_recebida_falha_consulta",
    "nfse_recebida",
    "cte_recebida",
    "cte",
    "mdfe",
    "nfcom",
)


# -- registry (called with the store lock held) -----------------------------------------------


# Reference: FocusNFe/api-doc _webhooks.md, "Monitoramento de Reputação": a rolling window of
# the last 2 days, whose counts GET /v2/hooks/ID answers (count_since, request_count, ...).
METRICS_WINDOW = 2 * 86400.0


def record_attempt(hook: Hook, *, at: float, ok: bool) -> None:
    """Remember one delivery attempt, forgetting those that left the window."""
    hook.recent_attempts = [a for a in hook.recent_attempts if a[0] >= at - METRICS_WINDOW]
    hook.recent_attempts.append([at, ok])


def metrics(hook: Hook, *, now: float) -> dict[str, Any]:
    """The window's counts; it starts no earlier than the hook."""
    since = max(now - METRICS_WINDOW, hook.created_at)
    oks = [bool(ok) for at, ok in hook.recent_attempts if at >= since]
    return {
        "count_since": iso(since),
        "request_count": len(oks),
        "error_count": oks.count(False),
        "success_count": oks.count(True),
    }


def create_hook(store: Store, *, owner_token: str, data: dict[str, Any]) -> Hook:
    event = data.get("event")
    if not event:
        raise missing("event")
    if event not in EVENTS:
        raise FocusError(400, "requisicao_invalida", f"Evento inválido: {event}")
    url = data.get("url")
    if not url:
        raise missing("url")
    parsed = urlparse(str(url))
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise FocusError(400, "requisicao_invalida", f"URL inválida: {url}")
    cnpj = only_id_chars(data.get("cnpj")) or None
    cpf = only_id_chars(data.get("cpf")) or None
    scope = cnpj or cpf
    same = [
        h
        for h in store.hooks.values()
        if h.owner_token == owner_token and h.event == event and (h.cnpj or h.cpf) == scope
    ]
    if len(same) >= MAX_HOOKS_PER_COMPANY_EVENT:
        raise FocusError(
            400,
            "requisicao_invalida",
            f"Limite de {MAX_HOOKS_PER_COMPANY_EVENT} gatilhos por empresa para o evento {event}",
        )
    hook = Hook(
        id=new_id(10),
        owner_token=owner_token,
        event=str(event),
        url=str(url),
        cnpj=cnpj,
        cpf=cpf,
        authorization=data.get("authorization"),
        authorization_header=data.get("authorization_header"),
        created_at=store.clock.now(),
    )
    store.hooks[hook.id] = hook
    return hook


def get_hook(store: Store, *, owner_token: str, hook_id: str) -> Hook:
    hook = store.hooks.get(hook_id)
    # Someone else's hook is indistinguishable from a missing one.
    if hook is None or hook.owner_token != owner_token:
        raise not_found("Gatilho não encontrado")
    return hook


def matching_hooks(store: Store, *, doc_token: str, company: Company, event: str) -> list[Hook]:
    found = []
    for hook in store.hooks.values():
        if hook.event != event:
            continue
        if hook.cnpj and hook.cnpj != company.cnpj:
            continue
        if hook.cpf and hook.cpf != company.cpf:
            continue
        if hook.owner_token == store.account_token:
            found.append(hook)  # reseller hooks see every company (or the one they name)
        elif hook.owner_token == doc_token:
            found.append(hook)
    return found


# -- delivery ------------------------------------------------------------------------------


@dataclass(order=True)
class _Queued:
    due: float
    seq: int
    delivery: dict[str, Any] = field(compare=False)


class HookDispatcher:
    """Sends deliveries on a small thread pool; one slow receiver does not hold up the rest."""

    def __init__(self, store: Store, *, workers: int = 4) -> None:
        self.store = store
        self._heap: list[_Queued] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox-hook")
        self._local = threading.local()
        # None: deliver; "drop": lose every notification (lost hooks); "hold": queue until resumed.
        self.pause_mode: str | None = None
        self._held: list[dict[str, Any]] = []
        store.clock.subscribe(self._cond)
        self._thread = threading.Thread(target=self._loop, name="sandbox-hooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        with self._cond:
            self._cond.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()
            self._held.clear()
            self.pause_mode = None

    def pause(self, mode: str | None) -> None:
        with self._cond:
            self.pause_mode = mode
            if mode is None:
                for delivery in self._held:
                    self._push(self.store.clock.now(), delivery)
                self._held.clear()
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + len(self._held)

    def notify(
        self,
        *,
        doc_token: str,
        company: Company,
        event: str,
        payload: dict[str, Any],
        ref: str | None,
        doc_type: str | None,
    ) -> int:
        """Queue one delivery per matching hook. Returns how many were queued."""
        hooks = matching_hooks(self.store, doc_token=doc_token, company=company, event=event)
        for hook in hooks:
            delivery = {
                "delivery_id": new_id(12),
                "hook_id": hook.id,
                "event": event,
                "url": hook.url,
                "ref": ref,
                "doc_type": doc_type,
                "payload": payload,
                "attempt": 0,
            }
            with self._cond:
                if self.pause_mode == "drop":
                    self._record(delivery, dropped=True)
                    continue
                if self.pause_mode == "hold":
                    self._held.append(delivery)
                    continue
                self._push(self.store.clock.now(), delivery)
        return len(hooks)

    def _push(self, due: float, delivery: dict[str, Any]) -> None:
        heapq.heappush(self._heap, _Queued(due, next(self._seq), delivery))
        self._cond.notify_all()

    def _loop(self) -> None:
        while not self._stopped.is_set():
            with self._cond:
                now = self.store.clock.now()
                if not self._heap:
                    self._cond.wait(timeout=1.0)
                    continue
                head = self._heap[0]
                if head.due > now:
                    self._cond.wait(timeout=min(1.0, head.due - now))
                    continue
                heapq.heappop(self._heap)
            try:
                self._pool.submit(self._send, head.delivery)
            except RuntimeError:  # pool shut down while stopping
                return

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(timeout=self.store.config.hook_timeout)
            self._local.client = client
        return client

    def _send(self, delivery: dict[str, Any]) -> None:
        hook = self.store.hooks.get(delivery["hook_id"])
        if hook is None:  # deleted while queued: Focus stops notifying
            return
        delivery["attempt"] += 1
        headers = {"Content-Type": "application/json"}
        if hook.authorization:
            headers[hook.authorization_header or "Authorization"] = hook.authorization
        status_code: int | None = None
        error: str | None = None
        try:
            response = self._client().post(
                hook.url,
                json=delivery["payload"],
                headers=headers,
                timeout=self.store.config.hook_timeout,
            )
            status_code = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        ok = status_code is not None and 200 <= status_code < 300
        with self.store.lock:
            hook.request_count += 1
            if ok:
                hook.success_count += 1
            else:
                hook.error_count += 1
            record_attempt(hook, at=self.store.clock.now(), ok=ok)
            self._record(delivery, status_code=status_code, error=error, ok=ok, headers=headers)
        if ok or self._stopped.is_set():
            return
        retry = delivery["attempt"] - 1
        if retry < len(RETRY_SCHEDULE):
            delay = RETRY_SCHEDULE[retry] * self.store.config.hook_schedule_scale
            with self._cond:
                self._push(self.store.clock.now() + delay, delivery)

    def _record(
        self,
        delivery: dict[str, Any],
        *,
        status_code: int | None = None,
        error: str | None = None,
        ok: bool = False,
        dropped: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        attempt = delivery["attempt"]
        gave_up = not ok and not dropped and attempt > len(RETRY_SCHEDULE)
        self.store.deliveries.append(
            {
                "delivery_id": delivery["delivery_id"],
                "hook_id": delivery["hook_id"],
                "event": delivery["event"],
                "url": delivery["url"],
                "ref": delivery["ref"],
                "doc_type": delivery["doc_type"],
                "attempt": attempt,
                "status_code": status_code,
                "error": error,
                "delivered": ok,
                "dropped": dropped,
                "gave_up": gave_up,
                "at": self.store.clock.now(),
                "headers": headers or {},
                "payload": delivery["payload"],
            }
        )
