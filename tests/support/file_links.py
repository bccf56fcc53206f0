"""What a caminho_* link of the facade names (fiscal/file_links.py), for assertions."""

from __future__ import annotations

from fiscal.file_links import file_link_open


def link_target(path: str) -> tuple[int, str, int | None]:
    """(note id, file name without ``caminho_``, attempt) of a signed link; fails if forged."""
    assert path.startswith("/v2/arquivos/"), path
    token, filename = path.split("/")[-2:]
    link = file_link_open(token, filename)
    assert link is not None, path
    return link.note_id, link.name, link.attempt


def comparable(data: object) -> object:
    """A body with each signed link replaced by what it names: two renders of the same note
    sign their links at different moments, so they are compared by what the links open."""
    if isinstance(data, dict):
        return {k: link_target(v) if k.startswith("caminho_") and isinstance(v, str)
                and v.startswith("/v2/arquivos/") else comparable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [comparable(item) for item in data]
    return data
