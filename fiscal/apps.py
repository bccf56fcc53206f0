from __future__ import annotations

from django.apps import AppConfig


class FiscalConfig(AppConfig):
    name = "fiscal"
    verbose_name = "Fiscal documents"

    def ready(self) -> None:
        # tenants reaches Focus's /v2/empresas through this edge without importing fiscal.
        from fiscal.focus.empresas import FocusEmpresas
        from tenants import focus_account

        focus_account.register(FocusEmpresas)
