from __future__ import annotations

from django.apps import AppConfig


class FiscalConfig(AppConfig):
    name = "fiscal"
    verbose_name = "Fiscal documents"
