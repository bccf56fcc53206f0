from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import models, transaction
from django.db.models.functions import Cast

from core.crypto import EncryptedTextField, encrypt, is_current


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column under the newest key of FG_ENCRYPTION_KEYS. "
        "Run it after putting a new key first; drop the old key only after it finishes."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # A misconfigured keyring fails here, before any row is touched.
        encrypt("probe")
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            rewritten = 0
            # Cast to a plain text column so the raw ciphertext is read, not the decrypted value.
            raw_names = {f.name: f"_raw_{f.name}" for f in fields}
            rows = model._default_manager.annotate(
                **{raw: Cast(name, models.TextField()) for name, raw in raw_names.items()}
            ).only("pk")
            for row in rows.iterator(chunk_size=500):
                stale = [
                    f for f in fields
                    if getattr(row, raw_names[f.name]) and not is_current(
                        getattr(row, raw_names[f.name])
                    )
                ]
                if not stale:
                    continue
                with transaction.atomic():
                    obj = model._default_manager.select_for_update().get(pk=row.pk)
                    # Assigning the plain value makes the field encrypt it under the newest key.
                    obj.save(update_fields=[f.name for f in stale])
                rewritten += 1
            total += rewritten
            self.stdout.write(f"{model._meta.label}: {rewritten} row(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"done: {total} row(s) re-encrypted"))
