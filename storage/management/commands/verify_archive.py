from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from storage import selectors
from storage.progress import Progress
from storage.verification import archive_verify


class Command(BaseCommand):
    help = (
        "Re-read archived files and re-hash them; record mismatches and missing objects. "
        "Exits non-zero when any file fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="every archived file")
        parser.add_argument("--sample", type=int, default=settings.FG_ARCHIVE_VERIFY_SAMPLE,
                            help="how many (least recently verified first)")
        parser.add_argument("--tenant", type=int, help="only this tenant id")

    def handle(self, *args: Any, **options: Any) -> None:
        qs = selectors.artifacts_to_verify()
        if options["tenant"]:
            qs = qs.filter(tenant_id=options["tenant"])
        if not options["all"]:
            qs = qs[: options["sample"]]
        ids = list(qs.values_list("pk", flat=True))
        progress = Progress(self.stdout, len(ids), "verifying")
        totals = {"ok": 0, "mismatch": 0, "missing": 0, "error": 0}
        for start in range(0, len(ids), 200):
            batch = list(selectors.artifacts_to_verify().filter(pk__in=ids[start:start + 200]))
            for artifact in batch:
                counts = archive_verify(artifacts=[artifact])
                for key, value in counts.items():
                    totals[key] += value
                progress.advance()
        progress.finish()
        summary = ", ".join(f"{key} {value}" for key, value in totals.items())
        self.stdout.write(f"verified {len(ids)} file(s): {summary}")
        if totals["mismatch"] or totals["missing"]:
            raise CommandError(f"archive verification failed: {summary}")
