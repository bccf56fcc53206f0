from __future__ import annotations

from django.db import models


class BenchmarkProbe(models.Model):
    """A row written by the benchmark baseline endpoint (bench/bench_accept.py): the cost of
    authenticating a key and inserting one row, against which the accept path is measured."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"probe {self.pk}"
