"""What the Focus edge tells observers (metrics): every request it made, every budget wait.

Plain Django signals, sent with ``send_robust`` so that an observer's bug never breaks a call
to Focus. The paths are reduced here to low-cardinality templates (``GET /v2/nfe/{ref}``):
this package owns Focus's paths, so it also knows which of their segments are names and which
are references.
"""

from __future__ import annotations

from django.dispatch import Signal

from fiscal.focus.note_operations import NOTE_OPERATIONS

# Sent after each request to Focus: endpoint (template), code ("200", "timeout", ...), seconds.
focus_request = Signal()
# Sent when the shared budget (fiscal/focus/budget.py) makes a caller wait; urgent: bool.
budget_wait = Signal()

# Segments of the Focus paths this package builds that are names, not references
# (focus-nfe-api-v2.txt, "URLs"). Any other segment becomes {ref} (or {id} after hooks /
# empresas): an unknown name costs a less precise label, never an unbounded one.
_NAMES = frozenset({
    "v2", "nfe", "nfce", "nfse", "nfsen", "inutilizacao", "importacao", "danfe", "hooks",
    "lotes_rps", "resposta", "empresas",
    *(suffix for _, suffix in NOTE_OPERATIONS.values() if suffix),
})
_ERROR_CODES = {"FocusTimeout": "timeout", "FocusUnavailable": "unavailable"}


def endpoint_template(method: str, path: str) -> str:
    """``POST /v2/nfe/fg1a2b/carta_correcao`` -> ``POST /v2/nfe/{ref}/carta_correcao``.

    Anything outside ``/v2`` is a file path (``caminho_*``): one template for all of them.
    """
    segments = path.split("?", 1)[0].strip("/").split("/")
    if not segments or segments[0] != "v2":
        return f"{method} /{{file}}"
    kept = []
    for previous, segment in zip(["", *segments], segments, strict=False):
        if segment in _NAMES:
            kept.append(segment)
        else:
            kept.append("{id}" if previous in {"hooks", "empresas"} else "{ref}")
    return f"{method} /" + "/".join(kept)


def request_done(*, method: str, path: str, seconds: float, status_code: int | None = None,
                 error: BaseException | None = None) -> None:
    """One request to Focus ended, with an answer (``status_code``) or without (``error``)."""
    if status_code is not None:
        code = str(status_code)
    else:
        name = type(error).__name__ if error is not None else "error"
        code = _ERROR_CODES.get(name, name.lower())
    focus_request.send_robust(sender=None, endpoint=endpoint_template(method, path), code=code,
                              seconds=seconds)
