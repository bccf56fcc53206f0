"""One emission path: every note (an emission, an importação) is accepted by
``services.note_persist`` and submitted here, inline or by a worker.

Whether the tenant's request waits for Focus is decided here, not in the view: NFCe is
synchronous at Focus, so it is synchronous here too (a longer deadline); an importação is
answered by Focus in the same request; other notes wait a short deadline when
``FG_INLINE_SUBMIT`` is on. Past the deadline the note carries on in the background.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from core.errors import FocusError
from fiscal import services, steps, tasks
from fiscal.inline import inline_timeout
from fiscal.models import Note
from fiscal.services import Accepted
from fiscal.steps import StepResult
from tenants.models import ApiKey


def emission_params(*, doc_type: str, forma_emissao: str | None) -> dict[str, str]:
    """Query parameters sent to Focus with the POST besides ref."""
    if doc_type != "nfce" or forma_emissao is None:
        return {}
    # Manual offline contingency: the tenant's own número/série (focus-nfe-api-v2.txt).
    if forma_emissao != "offline":
        raise FocusError("forma_emissao_nao_informada",
                         'Parâmetro "forma_emissao" inválido ou não informado')
    return {"forma_emissao": forma_emissao}


def submit_timeout(note: Note) -> float | None:
    """The deadline of an inline submit, or None: hand it to a worker."""
    if note.payload.get("importacao"):
        return inline_timeout()
    return _emission_timeout(note.doc_type)


def _emission_timeout(doc_type: str) -> float | None:
    if doc_type == "nfce":
        return settings.FG_NFCE_INLINE_TIMEOUT
    if settings.FG_INLINE_SUBMIT:
        return settings.FG_INLINE_SUBMIT_TIMEOUT
    return None


def note_submit(*, accepted: Accepted) -> StepResult:
    """Submit an accepted (persisted, committed, claimed) note: inline within its deadline so
    the tenant sees Focus's own answer, or queued."""
    note = accepted.note
    timeout = submit_timeout(note)
    if timeout is None:
        tasks.enqueue_step(note.pk, "submit", accepted.claim_token)
        return StepResult(note=note)
    return steps.note_run_step(note_id=note.pk, token=accepted.claim_token, urgent=True,
                               timeout=timeout, note=note if accepted.ready else None)


def note_emit(*, api_key: ApiKey, doc_type: str, ref: str | None, payload: Any,
              forma_emissao: str | None = None) -> StepResult:
    """POST /v2/<doc>?ref=: accept the note, then submit it."""
    params = emission_params(doc_type=doc_type, forma_emissao=forma_emissao)
    accepted = services.note_accept(api_key=api_key, doc_type=doc_type, ref=ref,
                                    payload=payload, params=params,
                                    with_token=_emission_timeout(doc_type) is not None)
    return note_submit(accepted=accepted)
