from __future__ import annotations

from datetime import date

from rest_framework import serializers

from storage.models import Artifact


class ArtifactOutputSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Artifact
        fields = [
            "id", "note_id", "fiscal_event_id", "inutilizacao_id", "kind", "field", "attempt",
            "sequence", "state", "key", "sha256", "size", "content_type", "source_path",
            "retain_until", "legal_hold", "archived_at", "verification", "verified_at",
            "attempts", "last_error", "created_at", "download_url",
        ]

    def get_download_url(self, obj: Artifact) -> str:
        return f"/api/v1/artifacts/{obj.pk}/download"


class ArchiveMonthInputSerializer(serializers.Serializer):
    # Query parameters: not strict, ?token= may travel with them (Focus-style auth).
    # Year 0000 matches four digits but is no date (datetime starts at year 1).
    month = serializers.RegexField(r"^(?!0000)\d{4}-(0[1-9]|1[0-2])$", help_text="YYYY-MM")

    def validate_month(self, value: str) -> date:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
