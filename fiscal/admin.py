from __future__ import annotations

import re

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.admin import ReadOnlyModelAdmin, ReadOnlyTabularInline
from fiscal import services
from fiscal.models import FiscalEvent, FocusHook, Inutilizacao, Note, NoteEvent

# A chave (44 digits), a CNPJ (14, letters allowed since 2026) or a CPF (11), as staff paste
# them: with dots, slashes, dashes or spaces.
_DOCUMENT_PUNCTUATION = re.compile(r"[.\-/\s]")


class NoteEventInline(ReadOnlyTabularInline):
    """The note's timeline, oldest first, read-only."""

    model = NoteEvent
    fields = ["created_at", "kind", "message", "data"]
    readonly_fields = fields
    ordering = ["id"]


class StuckFilter(admin.SimpleListFilter):
    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
        return [("yes", "stuck"), ("no", "not stuck")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Note]) -> QuerySet[Note]:
        if self.value() == "yes":
            return queryset.filter(stuck_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(stuck_at__isnull=True)
        return queryset


@admin.register(Note)
class NoteAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "doc_type", "ref", "status", "environment", "empresa", "tenant",
                    "chave", "next_action", "next_action_at", "created_at", "console_link"]
    list_filter = ["status", "doc_type", "environment", StuckFilter, "next_action"]
    search_fields = ["ref", "upstream_ref", "chave", "empresa__cnpj", "empresa__cpf"]
    list_select_related = ["empresa", "tenant"]
    inlines = [NoteEventInline]
    actions = ["sync_now"]
    readonly_fields = ["console_link", *(f.name for f in Note._meta.fields)]
    show_full_result_count = False
    search_help_text = "A chave, ref, upstream ref, or the emitente's CNPJ / CPF."

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Note],
                           search_term: str) -> tuple[QuerySet[Note], bool]:
        # A pasted chave or document (punctuated or not) is an exact, indexed match; anything
        # else falls back to the admin's substring search over search_fields.
        compact = _DOCUMENT_PUNCTUATION.sub("", search_term.strip()).upper()
        if len(compact) in (11, 14, 44) and compact.isalnum():
            return queryset.filter(
                Q(chave=compact) | Q(empresa__cnpj=compact) | Q(empresa__cpf=compact)
                | Q(ref=search_term.strip()) | Q(upstream_ref=search_term.strip())
            ), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="console")
    def console_link(self, obj: Note) -> str:
        return format_html('<a href="{}">timeline &amp; actions</a>',
                           reverse("console-note", args=[obj.pk]))

    @admin.action(description="Sync selected notes from Focus now")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Note]) -> None:
        count = 0
        for note in queryset:
            services.note_request_sync(note=note, reason="staff asked in the admin",
                                       actor=request.user.get_username())
            count += 1
        self.message_user(request, f"{count} note(s) scheduled for sync.")


@admin.register(FocusHook)
class FocusHookAdmin(ReadOnlyModelAdmin):
    """Read-only: a hook row mirrors a registration at Focus and holds the secret Focus posts
    back; edited by hand it would no longer match Focus (fiscal.focus_hooks keeps it)."""

    list_display = ["id", "empresa", "environment", "event", "focus_id", "is_active",
                    "verified_at", "last_received_at", "last_error"]
    list_filter = ["environment", "event", "is_active"]
    search_fields = ["empresa__cnpj", "focus_id"]
    exclude = ["secret"]
    readonly_fields = ["empresa", "environment", "event", "focus_id", "url", "created_at",
                       "verified_at", "last_received_at", "last_error"]
    list_select_related = ["empresa"]


@admin.register(FiscalEvent)
class FiscalEventAdmin(ReadOnlyModelAdmin):
    """Read-only: a fiscal event is created by fiscal.operations only (validated, then sent to
    Focus); one added here would have gone to Focus without validation."""

    list_display = ["id", "kind", "note", "sequence", "status", "status_sefaz", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["note__ref", "note__chave"]
    list_select_related = ["note"]
    readonly_fields = [f.name for f in FiscalEvent._meta.fields]
    show_full_result_count = False


@admin.register(Inutilizacao)
class InutilizacaoAdmin(ReadOnlyModelAdmin):
    """Read-only: rows are written by fiscal.inutilizacoes (tenant requests, Focus hooks)."""

    list_display = ["id", "empresa", "tenant", "environment", "modelo", "serie",
                    "numero_inicial", "numero_final", "status", "status_sefaz", "source",
                    "created_at"]
    list_filter = ["modelo", "status", "source", "environment"]
    search_fields = ["empresa__cnpj", "empresa__cpf", "protocolo", "tenant__name"]
    list_select_related = ["empresa", "tenant"]
    readonly_fields = [f.name for f in Inutilizacao._meta.fields]
    date_hierarchy = "created_at"
    show_full_result_count = False
