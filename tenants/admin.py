from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.crypto import mask_secret
from tenants import services
from tenants.models import ApiKey, Empresa, Tenant


class TenantAdminForm(forms.ModelForm):
    """The Focus account token is write-only, like every token: an empty field keeps it."""

    focus_account_token = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Focus account (reseller) token. Leave empty to keep the stored one.",
    )

    class Meta:
        model = Tenant
        fields = ["name", "is_active", "rate_limit_per_minute", "focus_account_token"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["focus_account_token"] = ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("focus_account_token") and self.instance.pk:
            cleaned["focus_account_token"] = self.instance.focus_account_token
        return cleaned


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    form = TenantAdminForm
    list_display = ["id", "name", "is_active", "masked_focus_account_token", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    readonly_fields = ["masked_focus_account_token"]

    @admin.display(description="Focus account token")
    def masked_focus_account_token(self, obj: Tenant) -> str:
        return mask_secret(obj.focus_account_token)

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        # Deleting would cascade to its webhook events and endpoints: deactivate it instead.
        return False


class ApiKeyAddForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["tenant", "name", "environment"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["id", "display_prefix", "tenant", "name", "environment", "created_at",
                    "last_used_at", "revoked_at"]
    list_filter = ["environment", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["public_id", "name", "tenant__name"]
    list_select_related = ["tenant"]
    readonly_fields = ["display_prefix", "public_id", "created_at", "last_used_at", "revoked_at"]
    exclude = ["secret_hash"]
    actions = ["revoke"]

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoke instead: the row names the key in logs and audits

    def get_form(self, request: HttpRequest, obj: ApiKey | None = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return ["tenant", "name", "environment"]
        return ["tenant", "name", "environment", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return []
        return ["tenant", "environment", *self.readonly_fields]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        issued = services.api_key_create(
            tenant=obj.tenant, environment=obj.environment, name=obj.name
        )
        # The admin then redirects using obj.pk: point it at the row the service made.
        obj.pk = issued.api_key.pk
        messages.warning(
            request, f"New API key (copy it now, it is not shown again): {issued.raw}"
        )

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key)
        self.message_user(request, f"{queryset.count()} key(s) revoked.")


class EmpresaAdminForm(forms.ModelForm):
    """Tokens are write-only: the form never renders them; an empty field keeps the stored one."""

    token_homologacao = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored token.",
    )
    token_producao = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored token.",
    )

    class Meta:
        model = Empresa
        exclude: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("token_homologacao", "token_producao"):
            self.initial[name] = ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in ("token_homologacao", "token_producao"):
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


@admin.register(Empresa)
class EmpresaAdmin(admin.ModelAdmin):
    form = EmpresaAdminForm
    list_display = ["id", "nome", "documento", "uf", "tenant", "is_active", "masked_homologacao",
                    "masked_producao", "certificado_valido_ate"]
    list_filter = ["is_active", "uf", "habilita_nfe", "habilita_nfce", "habilita_nfse",
                   "habilita_nfsen", "regime_tributario"]
    search_fields = ["nome", "nome_fantasia", "cnpj", "cpf", "tenant__name"]
    list_select_related = ["tenant"]
    readonly_fields = ["masked_homologacao", "masked_producao", "created_at", "updated_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Empresa | None = None) -> bool:
        # Its notes are protected anyway; its Focus hooks and endpoints would cascade: disable.
        return False

    @admin.display(description="token homologação")
    def masked_homologacao(self, obj: Empresa) -> str:
        return mask_secret(obj.token_homologacao)

    @admin.display(description="token produção")
    def masked_producao(self, obj: Empresa) -> str:
        return mask_secret(obj.token_producao)
