from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from fiscal import services
from fiscal.models import FiscalEvent, FocusHook, Inutilizacao, Note, NoteEvent


class NoteEventInline(admin.TabularInline):
    model = NoteEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "message", "data"]
    readonly_fields = fields
    ordering = ["id"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


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
class NoteAdmin(admin.ModelAdmin):
    list_display = ["id", "doc_type", "ref", "status", "environment", "empresa", "tenant",
                    "chave", "next_action", "next_action_at", "created_at"]
    list_filter = ["status", "doc_type", "environment", StuckFilter, "next_action"]
    search_fields = ["ref", "upstream_ref", "chave", "empresa__cnpj", "empresa__cpf"]
    list_select_related = ["empresa", "tenant"]
    inlines = [NoteEventInline]
    actions = ["sync_now"]
    readonly_fields = [f.name for f in Note._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Sync selected notes from Focus now")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Note]) -> None:
        for note in queryset:
            services.note_request_sync(note=note, reason=f"operator {request.user}")
        self.message_user(request, f"{queryset.count()} note(s) scheduled for sync.")


@admin.register(FocusHook)
class FocusHookAdmin(admin.ModelAdmin):
    list_display = ["id", "empresa", "environment", "event", "focus_id", "is_active",
                    "verified_at", "last_received_at", "last_error"]
    list_filter = ["environment", "event", "is_active"]
    search_fields = ["empresa__cnpj", "focus_id"]
    exclude = ["secret"]
    readonly_fields = ["empresa", "environment", "event", "focus_id", "url", "created_at",
                       "verified_at", "last_received_at", "last_error"]


@admin.register(FiscalEvent)
class FiscalEventAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "note", "sequence", "status", "status_sefaz", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["note__ref", "note__chave"]
    list_select_related = ["note"]


@admin.register(Inutilizacao)
class InutilizacaoAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
