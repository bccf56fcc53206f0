"""A note as the facade shows it: Focus's consulta JSON with our ref and our file paths."""

from __future__ import annotations

from typing import Any

from fiscal.file_links import file_link
from fiscal.models import Note, NoteStatus

# completa=1 extras (SUPPLEMENT.md, "completa=1"): shown only when asked for.
COMPLETA_KEYS = (
    "requisicao_nota_fiscal", "protocolo_nota_fiscal", "requisicao_cancelamento",
    "protocolo_cancelamento", "requisicao_carta_correcao", "protocolo_carta_correcao",
)
# Focus adds them to NFe and NFCe only.
COMPLETA_DOC_TYPES = ("nfe", "nfce")


def _rewrite_paths(data: dict[str, Any], note: Note, attempt: int | None = None) -> None:
    """Focus's file paths become our signed links (fiscal/file_links.py). ``attempt``
    addresses the files of an earlier attempt: 0 is ``tentativa_anterior``, 1.. the entries
    of ``tentativas_anteriores``."""
    for key, value in list(data.items()):
        if key.startswith("caminho_") and isinstance(value, str) and value.startswith("/"):
            data[key] = file_link(note, key, value, attempt=attempt)


def with_gateway_paths(data: dict[str, Any], note: Note) -> dict[str, Any]:
    """A copy of a Focus answer about the note with our file paths."""
    rewritten = dict(data)
    _rewrite_paths(rewritten, note)
    return rewritten


def note_consulta(note: Note, *, completa: bool = False) -> dict[str, Any]:
    """The GET /v2/<doc>/<ref> body for a note, whatever Focus has told us so far."""
    data: dict[str, Any] = {
        key: value for key, value in (note.upstream or {}).items()
        if completa or key not in COMPLETA_KEYS
    }
    # Our own record wins over the last upstream body: it is what the gateway settled on.
    data["ref"] = note.ref
    data["status"] = note.status
    if completa and note.doc_type in COMPLETA_DOC_TYPES and note.status == NoteStatus.PROCESSANDO:
        # Still at Focus: what it would show is the request as sent, nothing else yet.
        for key in COMPLETA_KEYS:
            data.setdefault(key, None)
        data["requisicao_nota_fiscal"] = data["requisicao_nota_fiscal"] or note.payload
    for key in ("status_sefaz", "mensagem_sefaz"):
        if getattr(note, key):
            data[key] = getattr(note, key)
    if note.erros:
        data["erros"] = note.erros
    _rewrite_paths(data, note)
    if isinstance(data.get("tentativa_anterior"), dict):
        previous = dict(data["tentativa_anterior"])
        _rewrite_paths(previous, note, attempt=0)
        data["tentativa_anterior"] = previous
    if isinstance(data.get("tentativas_anteriores"), list):
        rewritten = []
        for index, item in enumerate(data["tentativas_anteriores"], start=1):
            item = dict(item) if isinstance(item, dict) else item
            if isinstance(item, dict):
                _rewrite_paths(item, note, attempt=index)
            rewritten.append(item)
        data["tentativas_anteriores"] = rewritten
    return data
