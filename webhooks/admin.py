from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.crypto import mask_secret
from core.errors import Conflict
from webhooks import services
from webhooks.models import Attempt, Delivery, Endpoint, Event


class EndpointAdminForm(forms.ModelForm):
    """Secrets are write-only: never rendered; an empty field keeps the stored value."""

    url = forms.URLField(max_length=2000, assume_scheme="https")
    secret = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored secret (a new endpoint gets a generated one).",
    )
    authorization = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Focus-style static header value. Leave empty to keep the stored one.",
    )

    class Meta:
        model = Endpoint
        fields = ["tenant", "environment", "url", "description", "event_types", "doc_types",
                  "empresa", "format", "secret", "authorization", "authorization_header",
                  "focus_event", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("secret", "authorization"):
            self.initial[name] = ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("url"):
            reason = services.url_refusal(cleaned["url"])
            if reason:
                self.add_error("url", reason)
        for name in ("secret", "authorization"):
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        if not cleaned.get("secret"):
            cleaned["secret"] = services.generate_secret()
        return cleaned


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointAdminForm
    list_display = ["id", "public_id", "tenant", "url", "environment", "format", "focus_event",
                    "is_active", "masked_secret", "failing_since", "deleted_at"]
    list_filter = ["is_active", "environment", "format", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["public_id", "url", "tenant__name"]
    list_select_related = ["tenant"]
    raw_id_fields = ["tenant", "empresa"]
    readonly_fields = ["masked_secret", "previous_secret_expires_at", "disabled_at",
                       "disabled_reason", "failing_since", "deleted_at", "created_at",
                       "updated_at"]
    actions = ["reenable", "disable", "rotate_secret"]

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        if not obj.public_id:
            obj.public_id = services.new_public_id()
        super().save_model(request, obj, form, change)

    @admin.display(description="secret")
    def masked_secret(self, obj: Endpoint) -> str:
        return mask_secret(obj.secret)

    @admin.action(description="Re-enable (and deliver what is pending)")
    def reenable(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset.filter(deleted_at=None):
            services.endpoint_enable(endpoint=endpoint)
        self.message_user(request, "Endpoint(s) enabled.")

    @admin.action(description="Disable")
    def disable(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            services.endpoint_disable(endpoint=endpoint, reason="Disabled by staff.",
                                      notify=False)
        self.message_user(request, "Endpoint(s) disabled.")

    @admin.action(description="Rotate secret (old one signs during the overlap)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset.filter(deleted_at=None):
            secret = services.endpoint_rotate_secret(endpoint=endpoint)
            messages.warning(request, f"New secret of {endpoint.public_id} (shown once): "
                                      f"{secret}")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "tenant", "sequence", "type", "environment", "doc_type", "note",
                    "created_at"]
    list_filter = ["type", "environment", "doc_type"]
    search_fields = ["tenant__name", "note__ref", "note__chave"]
    list_select_related = ["tenant", "note"]
    raw_id_fields = ["tenant", "note", "empresa"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # events are immutable

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ["started_at", "status_code", "duration_ms", "succeeded", "address", "error",
              "response_body"]
    readonly_fields = fields
    ordering = ["-id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "webhook_id", "tenant", "endpoint", "event", "state", "attempts",
                    "next_attempt_at", "last_status_code", "delivered_at"]
    list_filter = ["state"]
    search_fields = ["webhook_id", "endpoint__url", "tenant__name", "event__note__ref"]
    list_select_related = ["tenant", "endpoint", "event"]
    raw_id_fields = ["tenant", "event", "endpoint"]
    readonly_fields = ["webhook_id", "state", "attempts", "next_attempt_at", "claim_token",
                       "claimed_at", "last_status_code", "last_error", "delivered_at",
                       "created_at", "updated_at"]
    inlines = [AttemptInline]
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Replay (same webhook-id)")
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        done = 0
        for delivery in queryset:
            try:
                services.delivery_replay(delivery=delivery)
                done += 1
            except Conflict as exc:  # a sending/cancelled delivery: say so, go on
                self.message_user(request, f"{delivery.webhook_id}: {exc}", messages.WARNING)
        self.message_user(request, f"{done} delivery(ies) replayed.")
