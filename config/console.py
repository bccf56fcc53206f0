"""The staff console: what staff need in an incident, inside the Django admin.

- ``/admin/console/``: the dashboard (pending notes by next action, stuck notes, failing and
  disabled webhook endpoints, archive backlog, the Focus budget left per token) and one search
  box for a note by chave, ref, upstream ref or the emitente's CNPJ / CPF.
- ``/admin/console/notes/<id>/``: one note, its timeline and deliveries, and the staff actions
  (re-sync, replay its webhooks). Actions call the services with the staff user's name, which
  the services write on the note's timeline; nothing here writes a row itself.

It reads across tenants on purpose (staff only, behind ``admin_view``), so it lives above every
app rather than in one app's selectors, which always take a tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from fiscal import services as fiscal_services
from fiscal.admin import NoteAdmin
from fiscal.focus import BudgetStatus, budget_status
from fiscal.focus.client import token_fingerprint
from fiscal.models import NextAction, Note, NoteEvent
from storage.models import Artifact, ArtifactState, Verification
from tenants.models import Empresa
from webhooks.models import Delivery, Endpoint
from webhooks.replay import note_replay

SEARCH_LIMIT = 50
LIST_LIMIT = 20
TIMELINE_LIMIT = 500
BUDGET_EMPRESAS_LIMIT = 500  # the dashboard decrypts tokens to name them: keep it bounded


@dataclass(frozen=True)
class TokenBudget:
    fingerprint: str
    environment: str
    empresas: list[str]
    left: BudgetStatus


def pending_by_next_action() -> list[dict[str, Any]]:
    return list(
        Note.objects.exclude(next_action=NextAction.NONE)
        .values("next_action")
        .annotate(count=Count("id"), oldest=Min("created_at"), next_due=Min("next_action_at"))
        .order_by("next_action")
    )


def stuck_notes() -> tuple[int, list[Note]]:
    stuck = Note.objects.filter(stuck_at__isnull=False)
    return stuck.count(), list(
        stuck.select_related("empresa", "tenant").order_by("stuck_at")[:LIST_LIMIT]
    )


def endpoints_needing_attention() -> list[Endpoint]:
    return list(
        Endpoint.objects.filter(deleted_at=None)
        .filter(Q(is_active=False) | Q(failing_since__isnull=False))
        .select_related("tenant")
        .annotate(pending=Count("deliveries", filter=Q(deliveries__state="pending")))
        .order_by("is_active", "failing_since")[:LIST_LIMIT]
    )


def archive_backlog() -> dict[str, Any]:
    rows = Artifact.objects.aggregate(
        pending=Count("id", filter=Q(state=ArtifactState.PENDING)),
        oldest_pending=Min("created_at", filter=Q(state=ArtifactState.PENDING)),
        mismatch=Count("id", filter=Q(verification=Verification.MISMATCH)),
        missing=Count("id", filter=Q(verification=Verification.MISSING)),
    )
    return rows


def focus_budgets() -> list[TokenBudget]:
    """Each distinct Focus token of the active companies, and what is left of its minute."""
    by_token: dict[tuple[str, str], list[str]] = {}
    empresas = Empresa.objects.filter(is_active=True).order_by("id")[:BUDGET_EMPRESAS_LIMIT]
    for empresa in empresas:
        for environment, token in (("homologacao", empresa.token_homologacao),
                                   ("producao", empresa.token_producao)):
            if token:
                key = (token_fingerprint(token), environment)
                by_token.setdefault(key, []).append(empresa.documento)
    return [
        TokenBudget(fingerprint=fp, environment=env, empresas=names,
                    left=budget_status(fingerprint=fp))
        for (fp, env), names in sorted(by_token.items())
    ]


def _search(request: HttpRequest, term: str) -> list[Note]:
    # The note admin's search: exact for a pasted chave / CNPJ / CPF, substring otherwise.
    model_admin = admin.site.get_model_admin(Note)
    assert isinstance(model_admin, NoteAdmin)
    base = Note.objects.select_related("empresa", "tenant").order_by("-id")
    found, _ = model_admin.get_search_results(request, base, term)
    return list(found[:SEARCH_LIMIT])


def dashboard(request: HttpRequest) -> HttpResponse:
    term = request.GET.get("q", "").strip()
    results = _search(request, term) if term else None
    if results is not None and len(results) == 1:
        return HttpResponseRedirect(reverse("console-note", args=[results[0].pk]))
    stuck_count, stuck = stuck_notes()
    context = {
        **admin.site.each_context(request),
        "title": "Staff console",
        "q": term,
        "results": results,
        "pending": pending_by_next_action(),
        "stuck_count": stuck_count,
        "stuck": stuck,
        "endpoints": endpoints_needing_attention(),
        "archive": archive_backlog(),
        "budgets": focus_budgets(),
        "now": timezone.now(),
    }
    return render(request, "admin/console/dashboard.html", context)


def note_detail(request: HttpRequest, pk: int) -> HttpResponse:
    note = get_object_or_404(Note.objects.select_related("empresa", "tenant"), pk=pk)
    timeline = list(NoteEvent.objects.filter(note=note).order_by("-id")[:TIMELINE_LIMIT])
    deliveries = list(
        Delivery.objects.filter(event__note=note)
        .select_related("endpoint", "event").order_by("-id")[:LIST_LIMIT * 5]
    )
    context = {
        **admin.site.each_context(request),
        "title": f"Note {note.doc_type} {note.ref}",
        "note": note,
        "timeline": reversed(timeline),
        "deliveries": deliveries,
        "change_url": reverse("admin:fiscal_note_change", args=[note.pk]),
    }
    return render(request, "admin/console/note.html", context)


@require_POST
def note_resync(request: HttpRequest, pk: int) -> HttpResponse:
    note = get_object_or_404(Note, pk=pk)
    fiscal_services.note_request_sync(note=note, reason="staff asked in the console",
                                      actor=request.user.get_username())
    messages.success(request, "Sync requested: the note is read from Focus next.")
    return HttpResponseRedirect(reverse("console-note", args=[pk]))


@require_POST
def note_replay_webhooks(request: HttpRequest, pk: int) -> HttpResponse:
    note = get_object_or_404(Note.objects.select_related("tenant"), pk=pk)
    count = note_replay(tenant=note.tenant, note=note,
                                         by=request.user.get_username())
    messages.success(request, f"{count} delivery(ies) of this note sent again.")
    return HttpResponseRedirect(reverse("console-note", args=[pk]))


# The admin's home page links here.
admin.site.index_template = "admin/console/index.html"


def _staff(view: Any) -> Any:
    """Logged-in staff (the admin's own check, CSRF included) who may view notes."""

    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm("fiscal.view_note"):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return admin.site.admin_view(guarded)


urlpatterns = [
    path("", _staff(dashboard), name="console"),
    path("notes/<int:pk>/", _staff(note_detail), name="console-note"),
    path("notes/<int:pk>/resync", _staff(note_resync), name="console-note-resync"),
    path("notes/<int:pk>/replay", _staff(note_replay_webhooks), name="console-note-replay"),
]
