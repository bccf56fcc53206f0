"""Archived fiscal files (DESIGN.md §4, storage).

An Artifact is both the record of one archived file and its pending work: while ``state`` is
pending, ``next_attempt_at`` is when the dispatcher may claim it (DESIGN.md §2: the database is
the schedule, Celery only carries "do it now").
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.models import TimestampedModel
from fiscal.models import FiscalEvent, Inutilizacao, Note
from tenants.models import Empresa, Environment, Tenant


class ArtifactKind(models.TextChoices):
    """What a file is. Each value comments the ``caminho_*`` field it comes from."""

    NFE_XML = "nfe_xml", "NFe / NFCe XML"  # caminho_xml_nota_fiscal of nfe / nfce
    DANFE_PDF = "danfe_pdf", "DANFe PDF"  # caminho_danfe of nfe
    DANFCE_HTML = "danfce_html", "DANFCe HTML"  # caminho_danfe of nfce
    NFSE_XML = "nfse_xml", "NFSe XML"  # caminho_xml_nota_fiscal of nfse / nfsen
    NFSE_PDF = "nfse_pdf", "DANFSe PDF"  # url_danfse of nfsen (on the Focus host)
    CANCEL_XML = "cancel_xml", "Cancellation XML"  # caminho_xml_cancelamento
    CCE_XML = "cce_xml", "Carta de correção XML"  # caminho_xml_carta_correcao
    CCE_PDF = "cce_pdf", "Carta de correção PDF"  # caminho_pdf_carta_correcao
    ATOR_XML = "ator_xml", "Ator interessado XML"  # caminho_xml_evento_ator_interessado
    INSUCESSO_XML = "insucesso_xml", "Insucesso de entrega XML"  # caminho_xml_insucesso_entrega
    # caminho_xml_cancelamento_insucesso_entrega
    INSUCESSO_CANCEL_XML = "insucesso_cancel_xml", "Insucesso cancellation XML"
    INUTILIZACAO_XML = "inutilizacao_xml", "Inutilização XML"  # caminho_xml of an inutilização
    # caminho_xml_evento_<tipo> of the generic event (POST /v2/nfe/REF/evento)
    EVENTO_XML = "evento_xml", "Evento XML"
    OTHER = "other", "Other file"  # a caminho_* this gateway does not know yet: kept all the same


class ArtifactState(models.TextChoices):
    # Waiting to be downloaded and stored; due at next_attempt_at (a claim pushes it by a lease).
    PENDING = "pending", "pending"
    # In the archive: key, sha256, size and version are final.
    ARCHIVED = "archived", "archived"


class Verification(models.TextChoices):
    UNVERIFIED = "unverified", "not verified yet"
    OK = "ok", "ok"  # re-read, same SHA-256 and size, retention in place
    MISMATCH = "mismatch", "mismatch"  # different bytes, size or a shorter retention
    MISSING = "missing", "missing"  # the object (version) is not in the archive


class Artifact(TimestampedModel):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="artifacts")
    empresa = models.ForeignKey(Empresa, on_delete=models.PROTECT, related_name="artifacts")
    # Owner: the note (every file but an inutilização's), and the operation that produced it.
    note = models.ForeignKey(
        Note, on_delete=models.PROTECT, related_name="artifacts", null=True, blank=True
    )
    fiscal_event = models.ForeignKey(
        FiscalEvent, on_delete=models.PROTECT, related_name="artifacts", null=True, blank=True
    )
    inutilizacao = models.ForeignKey(
        Inutilizacao, on_delete=models.PROTECT, related_name="artifacts", null=True, blank=True
    )
    environment = models.CharField(max_length=12, choices=Environment.choices)
    # nfe / nfce / nfse / nfsen, or "inutilizacao".
    doc_type = models.CharField(max_length=12)
    kind = models.CharField(max_length=24, choices=ArtifactKind.choices)
    # The caminho_* field without its prefix ("xml_nota_fiscal", "danfe", ...), as in our paths.
    field = models.CharField(max_length=60)
    # None: the document itself; 0: tentativa_anterior; n >= 1: tentativas_anteriores[n - 1].
    attempt = models.PositiveSmallIntegerField(null=True, blank=True)
    # Carta de correção / event number, when the file belongs to a numbered event.
    sequence = models.PositiveSmallIntegerField(null=True, blank=True)
    # Focus's path, relative to the environment's host.
    source_path = models.CharField(max_length=500)
    # <tenant>/<cnpj>/<env>/<doc_type>/<yyyy>/<mm>/<chave-or-ref>/<kind>.<ext>
    key = models.CharField(max_length=500, unique=True)
    # First day of the (local) month of authorization: the yyyy/mm of the key, the ZIP export.
    period = models.DateField()

    state = models.CharField(
        max_length=10, choices=ArtifactState.choices, default=ArtifactState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set by the claim; only the holder may finish the attempt.
    claim_token = models.CharField(max_length=32, blank=True)
    last_error = models.TextField(blank=True)

    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    # The S3 version written (empty on the filesystem): verification reads exactly this one.
    version_id = models.CharField(max_length=200, blank=True)
    retain_until = models.DateTimeField()
    legal_hold = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)

    verification = models.CharField(
        max_length=10, choices=Verification.choices, default=Verification.UNVERIFIED
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Idempotency: one row per Focus file, however many changes mention it.
            models.UniqueConstraint(
                fields=["tenant", "environment", "source_path"], name="artifact_unique_source"
            ),
        ]
        indexes = [
            # The dispatcher's scan: only pending rows, by due time.
            models.Index(
                fields=["next_attempt_at"], name="artifact_due_idx",
                condition=Q(state="pending"),
            ),
            # The verification sample: archived rows, least recently verified first.
            models.Index(
                fields=["verified_at"], name="artifact_verify_idx",
                condition=Q(state="archived"),
            ),
            models.Index(fields=["empresa", "period"], name="artifact_empresa_period_idx"),
            models.Index(fields=["sha256"], name="artifact_sha256_idx"),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def filename(self) -> str:
        """The name a download is saved under: Focus's own file name."""
        return self.source_path.rstrip("/").rsplit("/", 1)[-1] or self.key.rsplit("/", 1)[-1]
