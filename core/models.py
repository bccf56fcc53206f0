from __future__ import annotations

from django.db import models


class TimestampedModel(models.Model):
    """A row that changes after it is written: when it was created and last saved.

    Abstract, so each model keeps its own table and these stay ordinary columns of it.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class BenchmarkProbe(models.Model):
    """A row written by the benchmark baseline endpoint (bench/bench_accept.py): the cost of
    authenticating a key and inserting one row, against which the accept path is measured."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"probe {self.pk}"
