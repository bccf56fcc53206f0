"""Notes, their timeline, operations on them and voided number ranges (DESIGN.md §4, fiscal)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.crypto import EncryptedTextField
from core.models import TimestampedModel
from tenants.models import DocType, Empresa, Environment, Tenant


class NoteStatus(models.TextChoices):
    """A note's fiscal status, in Focus's own words."""

    # Accepted by us or by Focus; SEFAZ / the prefeitura has not decided yet.
    PROCESSANDO = "processando_autorizacao", "processando autorização"
    # Authorized: a valid fiscal document exists.
    AUTORIZADO = "autorizado", "autorizado"
    # Rejected; the ref may be sent again (Focus's rule), no fiscal document exists.
    ERRO_AUTORIZACAO = "erro_autorizacao", "erro de autorização"
    # Denied by SEFAZ: final, the número and chave are used up; its XML is kept.
    DENEGADO = "denegado", "denegado"
    # Cancelled after authorization: final.
    CANCELADO = "cancelado", "cancelado"
    # NFSe replaced by another NFSe: final.
    SUBSTITUIDO = "substituido", "substituído"


# Statuses never go backwards (DESIGN.md §5.2): a stale answer cannot undo a newer one.
# Each status may move only to the statuses listed for it. erro_autorizacao -> processando is a
# re-send of the same ref, which only the ref-reuse service does.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    NoteStatus.PROCESSANDO: frozenset({
        NoteStatus.AUTORIZADO, NoteStatus.ERRO_AUTORIZACAO, NoteStatus.DENEGADO,
        NoteStatus.CANCELADO, NoteStatus.SUBSTITUIDO,
    }),
    NoteStatus.AUTORIZADO: frozenset({NoteStatus.CANCELADO, NoteStatus.SUBSTITUIDO}),
    NoteStatus.ERRO_AUTORIZACAO: frozenset({
        NoteStatus.PROCESSANDO, NoteStatus.AUTORIZADO, NoteStatus.DENEGADO,
    }),
    NoteStatus.DENEGADO: frozenset(),
    NoteStatus.CANCELADO: frozenset(),
    NoteStatus.SUBSTITUIDO: frozenset(),
}

FINAL_STATUSES = frozenset({
    NoteStatus.AUTORIZADO, NoteStatus.ERRO_AUTORIZACAO, NoteStatus.DENEGADO,
    NoteStatus.CANCELADO, NoteStatus.SUBSTITUIDO,
})


class NextAction(models.TextChoices):
    """Work the gateway still owes a note; separate from its fiscal status."""

    NONE = "", "nothing"
    # POST it to Focus (never sent, or a read proved Focus does not have it).
    SUBMIT = "submit", "submit"
    # Read it from Focus: waiting for a result, or in doubt after an ambiguous outcome.
    SYNC = "sync", "sync"


class Note(TimestampedModel):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="notes")
    empresa = models.ForeignKey(Empresa, on_delete=models.PROTECT, related_name="notes")
    environment = models.CharField(max_length=12, choices=Environment.choices)
    doc_type = models.CharField(max_length=5, choices=DocType.choices)
    # The tenant's reference, as in Focus's ?ref=.
    ref = models.CharField(max_length=100)
    # The reference we send to Focus: fixed at creation, never regenerated, globally unique (so
    # unique per Focus token whichever tenants share that token).
    upstream_ref = models.CharField(max_length=64, unique=True)
    payload = models.JSONField()
    # Query parameters sent with the POST besides ref (NFCe's forma_emissao=offline).
    upstream_params = models.JSONField(default=dict, blank=True)

    status = models.CharField(
        max_length=24, choices=NoteStatus.choices, default=NoteStatus.PROCESSANDO
    )
    status_sefaz = models.CharField(max_length=10, blank=True)
    mensagem_sefaz = models.TextField(blank=True)
    erros = models.JSONField(null=True, blank=True)
    chave = models.CharField(max_length=50, blank=True)
    numero = models.CharField(max_length=20, blank=True)
    serie = models.CharField(max_length=10, blank=True)
    protocolo = models.CharField(max_length=30, blank=True)
    codigo_verificacao = models.CharField(max_length=60, blank=True)
    # The last consulta body Focus gave us, as it gave it (paths still Focus's).
    upstream = models.JSONField(default=dict, blank=True)
    contingencia_offline = models.BooleanField(null=True, blank=True)
    contingencia_offline_efetivada = models.BooleanField(null=True, blank=True)
    tentativa_anterior = models.JSONField(null=True, blank=True)
    tentativas_anteriores = models.JSONField(default=list, blank=True)

    # --- the work schedule (DESIGN.md §2): Postgres is the record of pending work.
    next_action = models.CharField(
        max_length=8, choices=NextAction.choices, default=NextAction.SUBMIT, blank=True
    )
    next_action_at = models.DateTimeField(null=True, blank=True)
    # Set when a dispatcher or the inline path claims the step; the task must present it.
    claim_token = models.CharField(max_length=32, blank=True)
    # Why the step is due: hook-triggered syncs jump the queue of scheduled polls.
    priority = models.PositiveSmallIntegerField(default=0)
    # We sent a POST and do not know whether Focus has it: the next step must be a read.
    in_doubt = models.BooleanField(default=False)
    # How many times the tenant has sent this ref (a ref may be re-sent after erro_autorizacao).
    tenant_attempt = models.PositiveIntegerField(default=1)
    # Focus refused the POST at its first validation (a 4xx): Focus holds no document under
    # this ref, so the facade answers 404 as Focus would; the native API keeps the refusal.
    focus_refused = models.BooleanField(default=False)
    submit_attempts = models.PositiveIntegerField(default=0)
    sync_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    stuck_at = models.DateTimeField(null=True, blank=True)

    submitted_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    authorized_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "environment", "doc_type", "ref"], name="note_unique_ref"
            ),
        ]
        indexes = [
            # The dispatcher's scan: only rows with work, by due time.
            models.Index(
                fields=["next_action_at"], name="note_due_idx", condition=~Q(next_action="")
            ),
            models.Index(fields=["tenant", "doc_type", "status"], name="note_tenant_status_idx"),
            models.Index(fields=["tenant", "created_at"], name="note_tenant_created_idx"),
            models.Index(fields=["chave"], name="note_chave_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.doc_type} {self.ref} ({self.status})"


class NoteEvent(models.Model):
    """The append-only timeline of a note: what happened, when, and what Focus said."""

    class Kind(models.TextChoices):
        CREATED = "created"
        SUBMITTED = "submitted"
        UPSTREAM_ANSWER = "upstream_answer"
        UPSTREAM_ERROR = "upstream_error"
        STATUS_CHANGED = "status_changed"
        HOOK_RECEIVED = "hook_received"
        RESENT = "resent"
        OPERATION = "operation"
        WEBHOOK_EMITTED = "webhook_emitted"
        ARCHIVED = "archived"
        ARCHIVE_ERROR = "archive_error"
        OPERATOR = "operator"
        STUCK = "stuck"

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["note", "id"], name="noteevent_note_idx")]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.created_at:%Y-%m-%d %H:%M:%S}"


class FiscalEvent(TimestampedModel):
    """An operation on an existing note (cancel, CCe, ...), persisted before the upstream call."""

    class Kind(models.TextChoices):
        CANCELAMENTO = "cancelamento"
        CARTA_CORRECAO = "carta_correcao"
        ATOR_INTERESSADO = "ator_interessado"
        INSUCESSO_ENTREGA = "insucesso_entrega"
        CANCELAMENTO_INSUCESSO = "cancelamento_insucesso"
        EMAIL = "email"
        # POST /v2/nfe/REF/evento: the generic event, its type in payload["tipo_evento"].
        EVENTO = "evento"

    class Status(models.TextChoices):
        PENDING = "pendente"  # persisted, not yet answered by Focus
        AUTORIZADO = "autorizado"
        ERRO = "erro"  # Focus / SEFAZ refused it (erro_autorizacao, erro_cancelamento)
        # Focus did not answer and nothing readable shows whether it took the operation; it is
        # not repeated automatically (it could register a second event): the tenant decides.
        INDETERMINADO = "indeterminado"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="fiscal_events")
    note = models.ForeignKey(Note, on_delete=models.PROTECT, related_name="fiscal_events")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    # Carta de correção number (1..20; the last one is the valid one).
    sequence = models.PositiveSmallIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    status_sefaz = models.CharField(max_length=10, blank=True)
    mensagem_sefaz = models.TextField(blank=True)
    erros = models.JSONField(null=True, blank=True)
    upstream = models.JSONField(default=dict, blank=True)
    next_action = models.CharField(max_length=8, choices=NextAction.choices, blank=True)
    next_action_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    # Sent, answer unknown: the next step reads the note before anything is sent again.
    in_doubt = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_action_at"], name="fiscalevent_due_idx", condition=~Q(next_action="")
            ),
            models.Index(fields=["note", "kind"], name="fiscalevent_note_idx"),
            models.Index(fields=["tenant", "created_at"], name="fiscalevent_tenant_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of note {self.note_id} ({self.status})"


class InutilizacaoStatus(models.TextChoices):
    """An inutilização's result; Focus's words where Focus said it."""

    # Persisted; Focus's answer is not known yet (in flight, or in doubt after a failed call).
    PENDENTE = "pendente"
    # SEFAZ voided the range (102).
    AUTORIZADO = "autorizado"
    # SEFAZ refused (241 a number was used, 256 already voided, ...). Nothing was voided.
    ERRO_AUTORIZACAO = "erro_autorizacao"
    # Focus refused the request itself (4xx), or it never left the gateway. Nothing was voided.
    ERRO = "erro"


class Inutilizacao(TimestampedModel):
    """A voided number range, asked by the tenant or reported by Focus."""

    class Source(models.TextChoices):
        TENANT = "tenant"
        FOCUS = "focus"  # reported by Focus (inutilizacao hook, contingency gaps)

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="inutilizacoes")
    empresa = models.ForeignKey(Empresa, on_delete=models.PROTECT, related_name="inutilizacoes")
    environment = models.CharField(max_length=12, choices=Environment.choices)
    modelo = models.CharField(max_length=2)  # 55 NFe, 65 NFCe
    serie = models.CharField(max_length=10)
    numero_inicial = models.PositiveIntegerField()
    numero_final = models.PositiveIntegerField()
    justificativa = models.TextField(blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.TENANT)
    status = models.CharField(max_length=20, choices=InutilizacaoStatus.choices,
                              default=InutilizacaoStatus.PENDENTE)
    # Sent to Focus, result unknown (Focus has no GET for it): pending until Focus's hook
    # reports the range or the tenant sends it again. Never sent again on its own.
    in_doubt = models.BooleanField(default=False)
    status_sefaz = models.CharField(max_length=10, blank=True)
    mensagem_sefaz = models.TextField(blank=True)
    protocolo = models.CharField(max_length=30, blank=True)
    upstream = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["tenant", "empresa"], name="inutilizacao_tenant_idx")]

    def __str__(self) -> str:
        return f"{self.modelo}/{self.serie} {self.numero_inicial}-{self.numero_final}"


class FocusHook(models.Model):
    """A hook (gatilho) the gateway registered at Focus for one company, event and environment.

    Focus posts the document's consulta JSON to ``url`` with ``secret`` in the Authorization
    header; the receiver compares it in constant time.
    """

    empresa = models.ForeignKey(Empresa, on_delete=models.CASCADE, related_name="focus_hooks")
    environment = models.CharField(max_length=12, choices=Environment.choices)
    event = models.CharField(max_length=32)
    focus_id = models.CharField(max_length=64, blank=True)
    # Random, encrypted at rest; also the last path segment is our own id, not the secret.
    secret = EncryptedTextField()
    url = models.URLField(max_length=500, blank=True)
    # The fingerprint of the Focus token the hook was registered under (Empresa's): once the
    # company's token changes, deliveries through this hook are no longer believed.
    token_fingerprint = models.CharField(max_length=64, blank=True, default="")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_received_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Deliveries that moved nothing (a ref of another company or environment, an unknown ref,
    # a replaced token): counted, and the last few kept for the staff to read.
    refused_count = models.PositiveIntegerField(default=0)
    last_refused_at = models.DateTimeField(null=True, blank=True)
    refused_log = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["empresa", "environment", "event"], name="focushook_unique_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} hook of {self.empresa_id} ({self.environment})"
