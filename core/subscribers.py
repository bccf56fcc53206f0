"""Subscriber lists named in settings: how a lower app tells the apps above it, unimported.

A setting holds "module.function" names (``FG_CHANGE_SUBSCRIBERS``,
``FG_EMPRESA_CHANGE_SUBSCRIBERS``); the announcing app calls what they name and never imports
the apps above it (STYLE.md habit 15).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.utils.module_loading import import_string


@functools.cache
def subscribers(names: tuple[str, ...]) -> list[Callable[..., Any]]:
    """The functions ``names`` name, imported once per process."""
    return [import_string(name) for name in names]
