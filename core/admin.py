"""Admin building blocks shared by every app (no model of core is registered here)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """A record the services write and nobody edits: notes, their timeline, fiscal events,
    webhook events, deliveries, attempts, archived files (issue: trust, admin).

    Staff may view every page; add, change and delete (bulk too) answer 403 even for a
    superuser, because a row typed in by hand would be believed, and for fiscal events sent
    to Focus. What staff may do goes through the admin actions, which call services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)  # type: ignore[misc]
        actions.pop("delete_selected", None)
        return actions


class ReadOnlyModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:  # inlines have none
        return {}
