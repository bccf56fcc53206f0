"""The ``caminho_*`` links of the facade's answers: capability URLs, as Focus's are.

Focus's file links are public (long-lived S3 objects): clients fetch them with a plain GET,
without credentials, and many take the file name from the path. Ours are signed instead:
``/v2/arquivos/<token>/<file name>``, where the token is Django's signed, timestamped value
(HMAC-SHA256 over SECRET_KEY, salted for this one purpose) of the tenant, the note, the file
(its ``caminho_*`` name, the attempt) and its name. Unguessable without the key; any change to
it, or to the name after it, is a 404; it opens only the file of the note it names, of the
tenant it names. It lives ``FG_FILE_LINK_MAX_AGE`` (7 days by default, README "File links");
every GET of the note answers fresh links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from fiscal.models import Note

_SALT = "fiscal.file_links.v1"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
# The token as it appears in the path: what signing.dumps writes (URL-safe base64 and ':').
LINK_TOKEN_PATTERN = r"[A-Za-z0-9_=-]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+"  # noqa: S105 (no secret)


@dataclass(frozen=True)
class FileLink:
    tenant_id: int
    note_id: int
    name: str  # the caminho_* field without its prefix: "xml_nota_fiscal", "danfe", ...
    attempt: int | None
    filename: str


def file_name(focus_path: str, name: str) -> str:
    """The name Focus gives the file: the last segment of its own path ("<chave>-nfe.xml",
    "<chave>.pdf", "NFe<chave>.html"), made safe for a path segment."""
    last = focus_path.rsplit("/", 1)[-1].split("?", 1)[0]
    return _SAFE_NAME.sub("_", last) or name


def file_link(note: Note, field: str, focus_path: str, *, attempt: int | None = None) -> str:
    """The signed link for one ``caminho_*`` field of a note (Focus's path ``focus_path``)."""
    name = field.removeprefix("caminho_")
    filename = file_name(focus_path, name)
    token = signing.dumps([note.tenant_id, note.pk, name, attempt, filename], salt=_SALT)
    return f"/v2/arquivos/{token}/{filename}"


def file_link_open(token: str, filename: str) -> FileLink | None:
    """What a link names, or None: tampered, expired, or not ending in its own file name."""
    try:
        tenant_id, note_id, name, attempt, signed_name = signing.loads(
            token, salt=_SALT, max_age=settings.FG_FILE_LINK_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if signed_name != filename:
        return None
    return FileLink(tenant_id=tenant_id, note_id=note_id, name=name, attempt=attempt,
                    filename=filename)
