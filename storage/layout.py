"""Which files a Focus body names, what each one is, and where it goes in the archive.

Pure functions over Focus's JSON: no database, no I/O. Reference: SUPPLEMENT.md "Files" (path
shapes) and focus-nfe-api-v2.txt (the ``caminho_*`` fields of each document and event).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from storage.models import ArtifactKind

CAMINHO = "caminho_"
# NFSe Nacional gives its DANFSe as a full URL on the Focus host instead of a caminho_ path.
URL_DANFSE = "url_danfse"

_FIELD_KINDS: dict[str, str] = {
    "xml_cancelamento": ArtifactKind.CANCEL_XML,
    "xml_carta_correcao": ArtifactKind.CCE_XML,
    "pdf_carta_correcao": ArtifactKind.CCE_PDF,
    "xml_evento_ator_interessado": ArtifactKind.ATOR_XML,
    "xml_insucesso_entrega": ArtifactKind.INSUCESSO_XML,
    "xml_cancelamento_insucesso_entrega": ArtifactKind.INSUCESSO_CANCEL_XML,
    "xml": ArtifactKind.INUTILIZACAO_XML,
    URL_DANFSE: ArtifactKind.NFSE_PDF,
}

# The file name (before the extension) of each kind inside its document's folder.
_STEMS: dict[str, str] = {
    ArtifactKind.NFE_XML: "nfe",
    ArtifactKind.DANFE_PDF: "danfe",
    ArtifactKind.DANFCE_HTML: "danfce",
    ArtifactKind.NFSE_XML: "nfse",
    ArtifactKind.NFSE_PDF: "danfse",
    ArtifactKind.CANCEL_XML: "cancelamento",
    ArtifactKind.CCE_XML: "cce",
    ArtifactKind.CCE_PDF: "cce",
    ArtifactKind.ATOR_XML: "ator-interessado",
    ArtifactKind.INSUCESSO_XML: "insucesso-entrega",
    ArtifactKind.INSUCESSO_CANCEL_XML: "insucesso-entrega-cancelamento",
    ArtifactKind.INUTILIZACAO_XML: "inutilizacao",
}

_DEFAULT_EXT: dict[str, str] = {
    ArtifactKind.DANFE_PDF: "pdf",
    ArtifactKind.NFSE_PDF: "pdf",
    ArtifactKind.CCE_PDF: "pdf",
    ArtifactKind.DANFCE_HTML: "html",
}

CONTENT_TYPES = {"xml": "application/xml", "pdf": "application/pdf", "html": "text/html"}

# Numbered events: ".../<chave>-cce-02.xml", ".../cartas_correcao/2.pdf", "...-ato-01.xml".
_SEQUENCE = re.compile(r"(?:-[a-z]+-|/cartas_correcao/)(\d{1,3})\.(?:xml|pdf)$")
# The generic event's files are named by their type: xml_evento_<tipo_evento>.
_EVENTO_PREFIX = "xml_evento_"
_NUMBERED = {
    ArtifactKind.CCE_XML, ArtifactKind.CCE_PDF, ArtifactKind.ATOR_XML, ArtifactKind.EVENTO_XML,
    ArtifactKind.INSUCESSO_XML, ArtifactKind.INSUCESSO_CANCEL_XML,
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class FileRef:
    """One file a Focus body names."""

    field: str  # the caminho_ field without its prefix, or "url_danfse"
    path: str  # Focus's path on the environment's host
    attempt: int | None = None  # None, 0 (tentativa_anterior) or n (tentativas_anteriores)
    attempt_chave: str = ""  # an earlier attempt has a chave of its own
    sequence: int | None = None


def _is_path(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("/") and not value.startswith("//")


def body_files(
    body: Mapping[str, Any] | None, *, base_url: str = "", attempt: int | None = None
) -> Iterator[FileRef]:
    """The files of one Focus body (without its earlier attempts)."""
    if not isinstance(body, Mapping):
        return
    sequence = _int(body.get("numero_carta_correcao"))
    for key, value in body.items():
        if key.startswith(CAMINHO) and _is_path(value):
            field = key.removeprefix(CAMINHO)
            yield FileRef(field=field, path=value, attempt=attempt,
                          attempt_chave=_chave(body) if attempt is not None else "",
                          sequence=sequence if "carta_correcao" in field else None)
    url = body.get(URL_DANFSE)
    if base_url and isinstance(url, str) and url.startswith(base_url.rstrip("/") + "/"):
        yield FileRef(field=URL_DANFSE, path=url[len(base_url.rstrip("/")):], attempt=attempt)


def note_files(upstream: Mapping[str, Any] | None, *, base_url: str = "") -> list[FileRef]:
    """Every file of a note's consulta body, its earlier attempts' included."""
    if not isinstance(upstream, Mapping):
        return []
    files = list(body_files(upstream, base_url=base_url))
    previous = upstream.get("tentativa_anterior")
    if isinstance(previous, Mapping):
        files += body_files(previous, base_url=base_url, attempt=0)
    earlier = upstream.get("tentativas_anteriores")
    if isinstance(earlier, list):
        for index, item in enumerate(earlier, start=1):
            files += body_files(item, base_url=base_url, attempt=index)
    return files


def file_path_for(
    upstream: Mapping[str, Any] | None, *, name: str, attempt: int | None, base_url: str = ""
) -> str | None:
    """Focus's path behind our ``/v2/arquivos/<note>/[tentativa-<n>/]<name>``, if any."""
    for ref in note_files(upstream, base_url=base_url):
        if ref.field == name and ref.attempt == attempt:
            return ref.path
    return None


def kind_of(field: str, doc_type: str, path: str) -> str:
    if field == "xml_nota_fiscal":
        return ArtifactKind.NFSE_XML if doc_type in ("nfse", "nfsen") else ArtifactKind.NFE_XML
    if field == "danfe":
        if doc_type == "nfce" or path.endswith(".html"):
            return ArtifactKind.DANFCE_HTML
        return ArtifactKind.DANFE_PDF
    if field not in _FIELD_KINDS and field.startswith(_EVENTO_PREFIX):
        return ArtifactKind.EVENTO_XML
    return _FIELD_KINDS.get(field, ArtifactKind.OTHER)


def sequence_of(kind: str, ref: FileRef, event_sequence: int | None = None) -> int | None:
    if kind not in _NUMBERED:
        return None
    if event_sequence is not None:
        return event_sequence
    match = _SEQUENCE.search(ref.path)
    return int(match.group(1)) if match else ref.sequence


def extension(kind: str, path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    if "." in name:
        ext = name.rsplit(".", 1)[-1].lower()
        if ext.isalnum() and len(ext) <= 5:
            return ext
    return _DEFAULT_EXT.get(kind, "xml")


def content_type_for(kind: str, path: str) -> str:
    return CONTENT_TYPES.get(extension(kind, path), "application/octet-stream")


def safe_segment(value: str, *, fallback: str = "_") -> str:
    """A key segment: readable, no separators, never '.' or '..'."""
    cleaned = _UNSAFE.sub("_", value.strip())[:120].lstrip(".")
    return cleaned or fallback


def strip_chave(value: str) -> str:
    """Focus writes chaves as 'NFe3519...'; keys use the 44 digits."""
    value = value or ""
    for prefix in ("NFe", "NFCe", "NFSe", "CTe"):
        if value.startswith(prefix):
            return value[len(prefix):]
    return value


def artifact_key(
    *,
    tenant_id: int,
    documento: str,
    environment: str,
    doc_type: str,
    period: date,
    folder: str,
    kind: str,
    field: str,
    path: str,
    sequence: int | None,
) -> str:
    stem = _STEMS.get(kind) or safe_segment(field)
    if kind == ArtifactKind.EVENTO_XML:
        stem = "evento-" + safe_segment(field.removeprefix(_EVENTO_PREFIX))
    if sequence is not None:
        stem = f"{stem}-{sequence:02d}"
    return "/".join([
        str(tenant_id), safe_segment(documento), environment, safe_segment(doc_type),
        f"{period.year:04d}", f"{period.month:02d}", safe_segment(folder),
        f"{stem}.{extension(kind, path)}",
    ])


def disambiguate(key: str, source_path: str) -> str:
    """The same key with a short hash of the source: for two files that would share a name."""
    digest = hashlib.sha256(source_path.encode()).hexdigest()[:8]
    head, _, ext = key.rpartition(".")
    return f"{head}-{digest}.{ext}"


def month_of(moment: datetime) -> date:
    return date(moment.year, moment.month, 1)


def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February into a common year: the day after, never earlier
        return moment.replace(year=moment.year + years, month=3, day=1)


def _chave(body: Mapping[str, Any]) -> str:
    value = body.get("chave_nfe") or body.get("chave") or ""
    return strip_chave(value) if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
