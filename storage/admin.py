from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyModelAdmin
from storage.archiving import artifact_rearchive
from storage.backends import StorageUnavailable
from storage.models import Artifact
from storage.verification import archive_verify


@admin.register(Artifact)
class ArtifactAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "key", "kind", "state", "verification", "size", "attempts",
                    "archived_at", "verified_at", "tenant"]
    list_filter = ["kind", "state", "verification", "environment", "doc_type", "legal_hold"]
    search_fields = ["key", "note__chave", "note__ref", "source_path", "sha256"]
    list_select_related = ["tenant"]
    raw_id_fields = ["note", "fiscal_event", "inutilizacao", "empresa", "tenant"]
    actions = ["reverify", "rearchive"]
    date_hierarchy = "created_at"

    # The record of an archived file is written by the services only; retained files: the
    # rows outlive any cleanup (no delete).
    readonly_fields = [field.name for field in Artifact._meta.fields]
    show_full_result_count = False

    @admin.action(description="Re-verify selected files (re-read and re-hash)")
    def reverify(self, request: HttpRequest, queryset: QuerySet[Artifact]) -> None:
        counts = archive_verify(artifacts=list(queryset))
        self.message_user(request, "Verified: " + ", ".join(f"{k} {v}" for k, v in counts.items()))

    @admin.action(description="Re-archive selected files (download from Focus again)")
    def rearchive(self, request: HttpRequest, queryset: QuerySet[Artifact]) -> None:
        done = 0
        for artifact in queryset:
            try:
                artifact_rearchive(artifact=artifact)
                done += 1
            except StorageUnavailable as exc:
                self.message_user(request, f"{artifact.key}: {exc}", level="error")
        self.message_user(request, f"{done} file(s) scheduled for archiving.")
