from __future__ import annotations

from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "storage"
    verbose_name = "Fiscal file archive"

    def ready(self) -> None:
        from storage import checks  # noqa: F401  (registers the bucket check)
