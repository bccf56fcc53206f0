"""The generic event of an NFe: POST /v2/nfe/REF/evento with ``tipo_evento``.

Reference: FocusNFe/api-doc _nfe.md "Eventos". Synchronous like every operation on a note, and
run by the same path (fiscal/operations.py, kind ``evento``): persisted before the call, in
doubt before it leaves. What is particular to it lives here:

- its first validation (``tipo_evento`` is required; the other parameters belong to the type
  and go to Focus as sent);
- its refusals, which are not those of the older events: 400 nfe_nao_autorizada for a note not
  authorized, 422 already_processed for a cancelled one;
- its answer names the type: ``caminho_xml_evento_<tipo>`` and ``numero_evento_<tipo>``;
- its outcome cannot be proved absent by a read: Focus's consulta documents no field for it. An
  in-doubt event is read (the consulta settles it when it shows the type's number), and
  otherwise never sent again on its own: sending it twice registers two events at SEFAZ.
"""

from __future__ import annotations

import re
from typing import Any

from core.errors import FocusError
from fiscal.models import FiscalEvent, Note, NoteStatus

# A name Focus could give a type (prorrogacao_suspensao_icms): it becomes part of field names and
# file names, so nothing else is let through.
_TIPO = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


def tipo_of(payload: dict[str, Any] | None) -> str:
    return str((payload or {}).get("tipo_evento") or "")


def evento_validate(data: dict[str, Any], doc_type: str) -> dict[str, Any]:
    """Focus's first validation; the body goes on as sent (``itens_pedido``, ...)."""
    tipo = data.get("tipo_evento")
    if tipo in (None, ""):
        raise FocusError("requisicao_invalida", 'Parâmetro "tipo_evento" não informado')
    if not isinstance(tipo, str) or not _TIPO.match(tipo):
        raise FocusError("requisicao_invalida", 'Parâmetro "tipo_evento" inválido')
    return dict(data)


def evento_precheck(note: Note) -> None:
    """What Focus refuses without asking SEFAZ (its table, in its words)."""
    if note.status == NoteStatus.CANCELADO:
        raise FocusError("already_processed", "A nota fiscal foi cancelada", status_code=422)
    if note.status != NoteStatus.AUTORIZADO:
        raise FocusError("nfe_nao_autorizada", "Nota fiscal não autorizada.")


def evento_in_flight(*, note: Note, payload: dict[str, Any]) -> FiscalEvent | None:
    """An event of the same type on this note still waiting on Focus (sent or about to be).

    The tenant's retry while it is in doubt gets that event's pending answer instead of a second
    POST. Locks the note: two requests for the same note take turns here. Runs inside the
    caller's transaction, which also persists the new event.
    """
    Note.objects.select_for_update().filter(pk=note.pk).values_list("pk").get()
    return (FiscalEvent.objects.filter(note=note, kind=FiscalEvent.Kind.EVENTO,
                                       status=FiscalEvent.Status.PENDING,
                                       payload__tipo_evento=tipo_of(payload))
            .order_by("-id").first())


def evento_sequence(body: dict[str, Any], payload: dict[str, Any] | None) -> int | None:
    try:
        return int(body[f"numero_evento_{tipo_of(payload)}"])
    except (KeyError, TypeError, ValueError):
        return None


def evento_landed(event: FiscalEvent, consulta: dict[str, Any]) -> dict[str, Any] | None:
    """The event's answer if the consulta shows it: its type's number, at least this one's.

    Before the event was sent, the gateway knew the type's last number (its own authorized
    events); a consulta showing a higher one shows this event.
    """
    tipo = tipo_of(event.payload)
    try:
        numero = int(consulta[f"numero_evento_{tipo}"])
    except (KeyError, TypeError, ValueError):
        return None
    known = FiscalEvent.objects.filter(
        note_id=event.note_id, kind=FiscalEvent.Kind.EVENTO,
        status=FiscalEvent.Status.AUTORIZADO, payload__tipo_evento=tipo,
    ).exclude(pk=event.pk).count()
    if numero <= known:
        return None
    return {
        "status_sefaz": "135",
        "mensagem_sefaz": "Evento registrado e vinculado a NF-e (lido na consulta)",
        "status": "autorizado",
        f"numero_evento_{tipo}": numero,
        **{k: v for k, v in consulta.items() if k == f"caminho_xml_evento_{tipo}"},
    }
