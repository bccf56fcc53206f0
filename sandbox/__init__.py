"""A local Focus NFe v2: faithful to the documented contract, with fault injection.

Stands for a remote system: imports nothing from the other apps. See sandbox/README.md.
"""

from __future__ import annotations

__all__ = ["SandboxServer"]


def __getattr__(name: str) -> object:
    # Lazy, so `python -m sandbox` and `import sandbox.chave` stay cheap.
    if name == "SandboxServer":
        from sandbox.server import SandboxServer

        return SandboxServer
    raise AttributeError(name)
