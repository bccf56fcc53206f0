"""What the tenants app tells the apps above it: a company's Focus setup changed.

Tenants sits below fiscal, so it never imports it: the subscribers are named in
``settings.FG_EMPRESA_CHANGE_SUBSCRIBERS`` ("module.function" taking the empresa id), the way
fiscal/changes.py announces note changes. They run after the commit that made the change, so
a rolled-back write announces nothing and a subscriber may do I/O (enqueue a task).
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.db import transaction

from core.subscribers import subscribers
from tenants.models import Empresa


def empresa_changed(empresa: Empresa) -> None:
    empresa_id = empresa.pk
    for subscriber in subscribers(tuple(settings.FG_EMPRESA_CHANGE_SUBSCRIBERS)):
        transaction.on_commit(functools.partial(subscriber, empresa_id))
