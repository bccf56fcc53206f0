"""GET /v2/<doc>/<ref>: the note as Focus would answer it, ``completa=1`` included.

Focus's hooks carry the basic consulta only, so a note settled by a hook has no copy of the
six ``completa=1`` objects (SUPPLEMENT.md "completa=1"); a note settled by polling has them
(the poll reads with ``completa=1``). Rather than add a read to every note (the pipeline keeps
to about one Focus request per note with hooks), the copy is fetched once, on the first
``completa=1`` read of a settled note that lacks it, and kept; an operation that changes
what those objects say (a cancel, a CCe) drops the copy, so the next such read fetches it anew.
"""

from __future__ import annotations

import logging

from django.db import transaction

from core.errors import FocusError
from fiscal.focus.client import FocusUpstreamError
from fiscal.inline import focus_client_for
from fiscal.models import Note, NoteEvent, NoteStatus
from fiscal.render import COMPLETA_DOC_TYPES, COMPLETA_KEYS, note_consulta
from fiscal.services import apply_upstream, note_event

logger = logging.getLogger("fiscal.consulta")


def note_read(*, note: Note, completa: bool) -> dict:
    """The consulta body of a note the facade found (fiscal.selectors.note_at_focus)."""
    if completa and completa_missing(note):
        note = note_fetch_completa(note=note)
    return note_consulta(note, completa=completa)


def completa_missing(note: Note) -> bool:
    """A settled NFe/NFCe whose stored copy lacks the completa objects (key absent; Focus
    always writes all six, null when not applicable)."""
    return (note.doc_type in COMPLETA_DOC_TYPES and note.status != NoteStatus.PROCESSANDO
            and "requisicao_nota_fiscal" not in (note.upstream or {}))


def note_fetch_completa(*, note: Note) -> Note:
    """Read the note at Focus with ``completa=1`` and keep the answer. On any failure (our
    budget spent, Focus slow), the note is answered as we have it; the next read tries again."""
    try:
        client = focus_client_for(empresa=note.empresa, environment=note.environment)
        answer = client.consult(note.doc_type, note.upstream_ref, completa=True)
    except (FocusUpstreamError, FocusError) as exc:  # FocusError: the company has no token
        logger.warning("completa read of note %s not made: %s", note.pk, exc)
        return note
    body = answer.data
    with transaction.atomic():
        locked = Note.objects.select_for_update().select_related("tenant", "empresa").get(
            pk=note.pk)
        note_event(locked, NoteEvent.Kind.UPSTREAM_ANSWER, "Focus answered the completa read",
                   status_code=answer.status_code, status=body.get("status"),
                   ms=round(answer.duration_ms))
        # A status the note cannot take is ignored by apply_upstream (and then nothing is
        # merged): the six objects are kept all the same, they describe the same document.
        apply_upstream(locked, body, source="completa")
        locked.upstream = {**(locked.upstream or {}),
                           **{key: body.get(key) for key in COMPLETA_KEYS}}
        locked.save(update_fields=["upstream", "updated_at"])
    return locked


def completa_drop(note: Note) -> None:
    """Forget the stored completa objects of a note an operation changed (no save)."""
    note.upstream = {k: v for k, v in (note.upstream or {}).items() if k not in COMPLETA_KEYS}
