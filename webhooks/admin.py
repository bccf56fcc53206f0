from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyModelAdmin, ReadOnlyTabularInline
from core.crypto import mask_secret
from core.errors import Conflict
from webhooks.endpoints import (
    endpoint_disable,
    endpoint_enable,
    endpoint_rotate_secret,
    generate_secret,
    new_public_id,
    url_refusal,
)
from webhooks.models import Attempt, Delivery, Endpoint, EndpointChange, Event
from webhooks.replay import delivery_replay


class EndpointChangeInline(ReadOnlyTabularInline):
    """The endpoint's timeline: who disabled or re-enabled it, and why."""

    model = EndpointChange
    fields = ["created_at", "kind", "by", "reason"]
    readonly_fields = fields
    ordering = ["-id"]


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
                  "focus_event"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("secret", "authorization"):
            self.initial[name] = ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("url"):
            reason = url_refusal(cleaned["url"])
            if reason:
                self.add_error("url", reason)
        for name in ("secret", "authorization"):
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        if not cleaned.get("secret"):
            cleaned["secret"] = generate_secret()
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
    # is_active is switched by the disable / re-enable actions only: they go through the
    # services, which pause or resume the deliveries and write the endpoint's timeline.
    readonly_fields = ["is_active", "masked_secret", "previous_secret_expires_at", "disabled_at",
                       "disabled_reason", "failing_since", "deleted_at", "created_at",
                       "updated_at"]
    actions = ["reenable", "disable", "rotate_secret"]
    inlines = [EndpointChangeInline]

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        if not obj.public_id:
            obj.public_id = new_public_id()
        super().save_model(request, obj, form, change)

    @admin.display(description="secret")
    def masked_secret(self, obj: Endpoint) -> str:
        return mask_secret(obj.secret)

    @admin.action(description="Re-enable (and deliver what is pending)")
    def reenable(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        by = request.user.get_username()
        for endpoint in queryset.filter(deleted_at=None):
            endpoint_enable(endpoint=endpoint, by=by, reason="Re-enabled by staff.")
        self.message_user(request, "Endpoint(s) enabled.")

    @admin.action(description="Disable")
    def disable(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        by = request.user.get_username()
        for endpoint in queryset:
            endpoint_disable(endpoint=endpoint, reason=f"Disabled by staff ({by}).",
                                      notify=False, by=by)
        self.message_user(request, "Endpoint(s) disabled.")

    @admin.action(description="Rotate secret (old one signs during the overlap)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset.filter(deleted_at=None):
            secret = endpoint_rotate_secret(endpoint=endpoint)
            messages.warning(request, f"New secret of {endpoint.public_id} (shown once): "
                                      f"{secret}")


@admin.register(Event)
class EventAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "tenant", "sequence", "type", "environment", "doc_type", "note",
                    "created_at"]
    list_filter = ["type", "environment", "doc_type"]
    search_fields = ["tenant__name", "note__ref", "note__chave"]
    list_select_related = ["tenant", "note"]
    raw_id_fields = ["tenant", "note", "empresa"]
    readonly_fields = [f.name for f in Event._meta.fields]
    show_full_result_count = False


class AttemptInline(ReadOnlyTabularInline):
    model = Attempt
    fields = ["started_at", "status_code", "duration_ms", "succeeded", "address", "error",
              "response_body"]
    readonly_fields = fields
    ordering = ["-id"]


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "delivery", "started_at", "status_code", "duration_ms", "succeeded",
                    "error"]
    list_filter = ["succeeded"]
    search_fields = ["delivery__webhook_id"]
    list_select_related = ["delivery"]
    readonly_fields = [f.name for f in Attempt._meta.fields]
    show_full_result_count = False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "webhook_id", "tenant", "endpoint", "event", "state", "attempts",
                    "next_attempt_at", "last_status_code", "delivered_at"]
    list_filter = ["state"]
    search_fields = ["webhook_id", "endpoint__url", "tenant__name", "event__note__ref"]
    list_select_related = ["tenant", "endpoint", "event"]
    raw_id_fields = ["tenant", "event", "endpoint"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [AttemptInline]
    actions = ["replay"]
    show_full_result_count = False

    @admin.action(description="Replay (same webhook-id)")
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        done = 0
        for delivery in queryset:
            try:
                delivery_replay(delivery=delivery, by=request.user.get_username())
                done += 1
            except Conflict as exc:  # a sending/cancelled delivery: say so, go on
                self.message_user(request, f"{delivery.webhook_id}: {exc}", messages.WARNING)
        self.message_user(request, f"{done} delivery(ies) replayed.")
